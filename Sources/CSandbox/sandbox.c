#include "csandbox.h"
int kiln_sandbox_placeholder(void) { return 0; }
