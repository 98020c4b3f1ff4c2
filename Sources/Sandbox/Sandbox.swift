import CSandbox
/// Placeholder for the namespace sandbox (issue 5).
enum SandboxPlaceholder {}
