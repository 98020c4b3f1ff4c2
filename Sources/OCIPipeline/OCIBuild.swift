import OCI
/// Placeholder for the OCI build pipeline (issue 5).
enum OCIPipelinePlaceholder {}
