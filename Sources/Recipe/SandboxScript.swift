import Foundation

/// Renders the bash script an OCI build runs in the namespace sandbox for one `run`, `apt` or `pip`
/// step: the same step library the AMI's user-data uses (so a recipe behaves alike on both targets),
/// then the step, then the container-only cleanup that keeps the layer small.
///
/// The script is passed to `bash -c`, so nothing has to be written into the root first; what it
/// writes under `$KILN_DIR` (a pip requirements file) is removed before it exits, so it never reaches
/// the step's layer.
public enum SandboxScript {
    /// Where the script keeps its scratch files inside the image while the step runs.
    public static let scratchDirectory = "/tmp/.kiln-step"

    /// The script for `step`, or nil for steps that execute nothing (`fetch`, `files`, `env`).
    public static func render(_ step: Step, recipe: ResolvedRecipe) throws -> String? {
        var s = ScriptWriter()
        s.line("set -Eeuo pipefail")
        s.line("umask 022")
        switch step.action {
        case .run(let run):
            s.raw(run.script.hasSuffix("\n") ? run.script : run.script + "\n")
            return s.text
        case .apt, .pip:
            s.line("export DEBIAN_FRONTEND=noninteractive KILN_DIR=\(scratchDirectory)")
            s.line("mkdir -p \"$KILN_DIR\"")
            s.line("trap 'rm -rf \"$KILN_DIR\"' EXIT")
            s.raw(UserDataRenderer.stepLibrary)
            let body = try UserDataRenderer.generatedScript(step, recipe: recipe)
            // The generated body starts by sourcing the library from $KILN_DIR; here it is inline.
            for line in body.split(separator: "\n", omittingEmptySubsequences: false)
            where !line.hasPrefix(". \"$KILN_DIR/lib.sh\"") {
                s.line(String(line))
            }
            if case .apt = step.action {
                // An image carries no package lists or downloaded .debs: they are stale the day after.
                s.line("apt-get clean")
                s.line("rm -rf /var/lib/apt/lists/*")
            }
            return s.text
        case .fetch, .files, .env:
            return nil
        }
    }
}
