// The kiln executable: a thin entry point over KilnCommands.
import KilnCommands

Kiln.main()
