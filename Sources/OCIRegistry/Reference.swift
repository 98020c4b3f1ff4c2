import OCI
/// Placeholder for the distribution-spec client (issue 5).
enum RegistryPlaceholder {}
