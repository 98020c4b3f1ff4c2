import ArgumentParser

/// The `kiln` command: its subcommands live one per file beside this one.
public struct Kiln: ParsableCommand {
    /// kiln's version, printed by `kiln --version` and recorded in the catalog.
    public static let version = "0.1.0"

    /// The command's name, help and subcommands.
    public static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "Bake data-science AMIs and OCI images from one YAML recipe.",
        discussion: """
        A recipe (see docs/recipes.md) describes a stack once; kiln validates it, renders the \
        EC2 user-data or the OCI layer plan from it, and tells CI what needs rebuilding.

        Examples:
          kiln validate recipes/
          kiln render --target ami recipes/examples/tools.yaml
          kiln plan --json
          kiln build --target ami recipes/examples/tools.yaml
          kiln sweep --dry-run
        """,
        version: version,
        subcommands: [Validate.self, Render.self, Plan.self, Build.self, Layer.self, Push.self, Pull.self, Sweep.self, Publish.self, GC.self, Doctor.self, IAMPolicy.self]
    )

    /// Creates the command (argument parsing fills it in).
    public init() {}
}
