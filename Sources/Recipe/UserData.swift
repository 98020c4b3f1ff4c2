import Foundation
import KilnArchive

/// What the rendered user-data needs to know about one build (docs/instance-protocol.md).
public struct InstanceContext: Sendable {
    /// The build's ID (also the `kiln:build-id` tag).
    public var buildID: String
    /// Presigned PUT URL for the build log; nil when the build cannot reach S3 (console only).
    public var logURL: String?
    /// Presigned PUT URL for the result record.
    public var resultURL: String?
    /// kiln's version, written into the script's header.
    public var kilnVersion: String

    /// Creates a context.
    public init(buildID: String, logURL: String? = nil, resultURL: String? = nil, kilnVersion: String) {
        self.buildID = buildID
        self.logURL = logURL
        self.resultURL = resultURL
        self.kilnVersion = kilnVersion
    }
}

/// Renders a recipe into the bash script that EC2 runs as user-data (cloud-init runs a `#!` script as is).
///
/// The script's protocol, which anything can implement to play the instance, is in
/// docs/instance-protocol.md: step markers `::kiln:: step-begin ID`, `step-end ID seconds=N`,
/// `step-failed ID exit=N seconds=N`, a result record, uploads through presigned URLs, a
/// console marker `::kiln:: result …`, and power-off. See cloud-init's "User-data scripts" format:
/// https://cloudinit.readthedocs.io/en/latest/explanation/format.html
public enum UserDataRenderer {
    /// EC2's limit on user-data, in bytes before base64 (RunInstances, `UserData`).
    public static let ec2Limit = 16 * 1024

    /// The protocol version written into the result record.
    public static let protocolVersion = 1

    /// The default build deadline when the recipe sets none.
    public static let defaultTimeoutMinutes = 60

    /// Renders the script text.
    public static func render(_ recipe: ResolvedRecipe, hash: String, context: InstanceContext) throws -> String {
        var w = ScriptWriter()
        let steps = recipe.steps(for: .ami)
        let tests = recipe.tests(for: .ami)
        let needsLib = steps.contains { if case .run = $0.action { return false } else if case .env = $0.action { return false } else { return true } }

        w.line("#!/bin/bash")
        w.line("# kiln user-data: recipe \(recipe.name) \(recipe.version) (\(hash))")
        w.line("# Rendered by kiln \(context.kilnVersion); the protocol is described in docs/instance-protocol.md.")
        w.line("# cloud-init runs this once, as root, on the build instance; it powers the instance off when done.")
        w.line("set -Eeuo pipefail")
        w.line("umask 022")
        w.line("export LC_ALL=C.UTF-8 TZ=UTC DEBIAN_FRONTEND=noninteractive")
        w.line("readonly KILN_BUILD_ID=\(Shell.quote(context.buildID))")
        w.line("export KILN_DIR=/var/lib/kiln")
        w.line("readonly KILN_DIR")
        w.line("readonly KILN_LOG=/var/log/kiln-build.log")
        w.line("readonly KILN_RESULT=/run/kiln-result.json")
        w.line("readonly KILN_TIMEOUT_MINUTES=\(recipe.ami.timeoutMinutes ?? defaultTimeoutMinutes)")
        w.line("KILN_CONSOLE=${KILN_CONSOLE:-/dev/console}")
        w.line("KILN_LOG_URL=\(Shell.quote(context.logURL ?? ""))")
        w.line("KILN_RESULT_URL=\(Shell.quote(context.resultURL ?? ""))")
        w.blank()
        w.line("# Dead-man timer: power off at the deadline even if a step hangs.")
        w.line("shutdown -P \"+${KILN_TIMEOUT_MINUTES}\" 'kiln: build deadline reached' >/dev/null 2>&1 || true")
        w.line("mkdir -p \"$KILN_DIR/steps\"")
        w.line("chmod 0755 \"$KILN_DIR\" \"$KILN_DIR/steps\"")
        w.line(": >\"$KILN_LOG\"")
        w.line("chmod 0600 \"$KILN_LOG\"")
        w.blank()
        w.raw(protocolFunctions)
        if needsLib {
            w.line("cat >\"$KILN_DIR/lib.sh\" <<'KILN_LIB_EOF'")
            w.raw(stepLibrary)
            w.line("KILN_LIB_EOF")
        }
        w.blank()

        // Each step's script is written to its own file, then run by a fresh bash with strict mode,
        // so that `set -e` holds inside it whatever the caller does.
        var calls: [String] = []
        for (index, step) in steps.enumerated() {
            let file = String(format: "$KILN_DIR/steps/%02d.sh", index + 1)
            switch step.action {
            case .env(let vars):
                let pairs = vars.map { "\($0.name) \(Shell.quoteExpandingVariables($0.value))" }.joined(separator: " ")
                calls.append("  kiln_env_step \(Shell.quote(step.id)) \(pairs) || return")
                continue
            case .run(let run):
                w.heredoc(to: file, body: run.script, tag: String(format: "KILN_STEP_%02d_EOF", index + 1))
                calls.append("  kiln_step \(Shell.quote(step.id)) \"\(file)\" \(Shell.quote(run.user ?? "")) \(Shell.quote(run.workdir ?? "/")) || return")
            default:
                let body = try generatedScript(step, recipe: recipe)
                w.heredoc(to: file, body: body, tag: String(format: "KILN_STEP_%02d_EOF", index + 1))
                calls.append("  kiln_step \(Shell.quote(step.id)) \"\(file)\" '' / || return")
            }
        }
        for (index, test) in tests.enumerated() {
            let file = String(format: "$KILN_DIR/steps/t%02d.sh", index + 1)
            w.heredoc(to: file, body: test.run, tag: String(format: "KILN_TEST_%02d_EOF", index + 1))
            calls.append("  kiln_step \(Shell.quote("test:\(test.recipe)/\(test.name)")) \"\(file)\" '' / || return")
        }
        w.blank()
        w.line("kiln_main() {")
        if calls.isEmpty { w.line("  :") }
        for call in calls { w.line(call) }
        w.line("}")
        w.blank()
        w.raw(epilogue)
        return w.text
    }

    /// The bytes to send as `UserData`: the script, gzip-compressed when it is over EC2's limit
    /// (cloud-init recognises gzip by its magic bytes). Over the limit even compressed is an error.
    public static func payload(_ script: String, recipePath: String = "user-data") throws -> (bytes: [UInt8], compressed: Bool) {
        let raw = Array(script.utf8)
        if raw.count <= ec2Limit { return (raw, false) }
        let packed: [UInt8]
        do {
            packed = try Gzip.compress(raw, level: 9)
        } catch {
            throw RecipeError(SourcePosition(file: recipePath, line: 1, column: 1), "cannot compress the user-data: \(error)")
        }
        guard packed.count <= ec2Limit else {
            throw RecipeError(SourcePosition(file: recipePath, line: 1, column: 1),
                              "the rendered user-data is \(raw.count) bytes, \(packed.count) gzip-compressed: over EC2's \(ec2Limit)-byte limit",
                              hint: "move large 'files' into a 'fetch' step (download them instead of embedding them)")
        }
        return (packed, true)
    }

    // MARK: generated steps

    static func generatedScript(_ step: Step, recipe: ResolvedRecipe) throws -> String {
        var s = ScriptWriter()
        s.line(". \"$KILN_DIR/lib.sh\"")
        switch step.action {
        case .apt(let apt):
            for repo in apt.repositories {
                s.line("kiln_apt_repo \(Shell.quote(repo.name)) \(Shell.quote(repo.url)) \(Shell.quote(repo.suite)) \(Shell.quote(repo.components.joined(separator: " "))) \(Shell.quote(repo.keyURL)) \(repo.keyFingerprint)")
            }
            s.line("kiln_apt_install \(apt.recommends ? "yes" : "no") " + apt.packages.map(Shell.quote).joined(separator: " "))
        case .pip(let pip):
            var args: [String] = []
            if let requirements = pip.requirements {
                let path = "$KILN_DIR/requirements-\(step.name).txt"
                let file = try localFile(recipe: step.recipe, path: requirements, in: recipe)
                try s.embed(file: file.absolutePath, to: path, mode: "0644", owner: nil)
                args += ["-r", "\"\(path)\""]
            }
            args += pip.packages.map(Shell.quote)
            var options: [String] = []
            if let index = pip.indexURL { options += ["--index-url", Shell.quote(index)] }
            if pip.breakSystemPackages { options.append("--break-system-packages") }
            s.line("\(Shell.quote(pip.python)) -m pip install --no-cache-dir --no-input --disable-pip-version-check " + (options + args).joined(separator: " "))
        case .fetch(let fetch):
            if let dest = fetch.dest {
                s.line("kiln_fetch_file \(Shell.quote(fetch.url)) \(fetch.sha256) \(Shell.quote(dest)) \(fetch.mode ?? "0644") \(fetch.owner ?? "0:0")")
            } else if let dir = fetch.extract {
                s.line("kiln_fetch_extract \(Shell.quote(fetch.url)) \(fetch.sha256) \(Shell.quote(dir)) \(fetch.stripComponents)" + (fetch.owner.map { " \($0)" } ?? ""))
            }
        case .files(let copies):
            for copy in copies {
                let local = try localFile(recipe: step.recipe, path: copy.src, in: recipe)
                var isDirectory: ObjCBool = false
                _ = FileManager.default.fileExists(atPath: local.absolutePath, isDirectory: &isDirectory)
                if isDirectory.boolValue {
                    for (relative, absolute) in try RecipeHash.expand(local) {
                        let inside = String(relative.dropFirst(copy.src.count)).trimmingCharacters(in: ["/"])
                        let dest = (copy.dest as NSString).appendingPathComponent(inside)
                        try s.embed(file: absolute, to: Shell.quote(dest), mode: copy.mode ?? defaultMode(absolute), owner: copy.owner)
                    }
                } else {
                    try s.embed(file: local.absolutePath, to: Shell.quote(copy.dest), mode: copy.mode ?? defaultMode(local.absolutePath), owner: copy.owner)
                }
            }
        case .run, .env:
            break
        }
        return s.text
    }

    static func defaultMode(_ path: String) -> String {
        FileManager.default.isExecutableFile(atPath: path) ? "0755" : "0644"
    }

    static func localFile(recipe name: String, path: String, in recipe: ResolvedRecipe) throws -> LocalFile {
        guard let file = recipe.localFiles.first(where: { $0.recipe == name && $0.relativePath == path }) else {
            throw RecipeError(SourcePosition(file: recipe.path, line: 1, column: 1), "internal: '\(path)' of recipe '\(name)' was not recorded")
        }
        return file
    }

    // MARK: fixed parts of the script

    /// Markers, the step runner and the result record (run in the main shell).
    static let protocolFunctions = #"""
    kiln_console() {
      if [ -w "$KILN_CONSOLE" ]; then printf '%s\n' "$*" >>"$KILN_CONSOLE" 2>/dev/null || true; fi
    }
    kiln_marker() {
      printf '::kiln:: %s\n' "$*"
      kiln_console "::kiln:: $*"
    }
    kiln_stamp() {
      local line
      while IFS= read -r line || [ -n "$line" ]; do
        printf '%(%Y-%m-%dT%H:%M:%SZ)T %s\n' -1 "$line"
      done | tee -a "$KILN_LOG"
    }
    KILN_RESULTS=()
    kiln_fail() {
      printf '%s\n' "$1" >"$KILN_DIR/failed-step"
      kiln_marker "step-failed $1 exit=$2 seconds=$3"
    }
    # kiln_step ID SCRIPT USER WORKDIR: runs one step's script in a fresh strict bash.
    kiln_step() {
      local id=$1 script=$2 user=$3 workdir=$4 start=$SECONDS rc=0 seconds
      chmod 0644 "$script"
      kiln_marker "step-begin $id"
      if [ -n "$user" ]; then
        (cd "$workdir" && runuser -u "$user" -- env KILN_DIR="$KILN_DIR" bash -Eeuo pipefail "$script") || rc=$?
      else
        (cd "$workdir" && bash -Eeuo pipefail "$script") || rc=$?
      fi
      seconds=$((SECONDS - start))
      KILN_RESULTS+=("{\"id\":\"$id\",\"seconds\":$seconds,\"exit_code\":$rc}")
      if [ "$rc" -ne 0 ]; then
        kiln_fail "$id" "$rc" "$seconds"
        return "$rc"
      fi
      kiln_marker "step-end $id seconds=$seconds"
    }
    # kiln_env NAME VALUE: sets a variable for later steps and for logins on the finished image
    # (/etc/profile.d for login shells; /etc/environment for PAM sessions, when the value fits its syntax).
    kiln_env() {
      export "$1=$2"
      printf 'export %s=%q\n' "$1" "$2" >>/etc/profile.d/kiln-env.sh || return
      if [ -f /etc/environment ]; then sed -i "/^$1=/d" /etc/environment || return; fi
      case $2 in
        *\"* | *\\* | *$'\n'*) echo "kiln: $1 is not written to /etc/environment (its value has quotes, backslashes or newlines)" ;;
        *) printf '%s="%s"\n' "$1" "$2" >>/etc/environment || return ;;
      esac
    }
    # kiln_env_step ID NAME VALUE [NAME VALUE]...: an env step, framed and recorded like any other.
    kiln_env_step() {
      local id=$1 rc=0
      shift
      kiln_marker "step-begin $id"
      while [ "$#" -ge 2 ]; do
        kiln_env "$1" "$2" || rc=$?
        shift 2
      done
      KILN_RESULTS+=("{\"id\":\"$id\",\"seconds\":0,\"exit_code\":$rc}")
      if [ "$rc" -ne 0 ]; then
        kiln_fail "$id" "$rc" 0
        return "$rc"
      fi
      kiln_marker "step-end $id seconds=0"
    }
    kiln_run() {
      local rc=0 failed='' status=succeeded
      rm -f "$KILN_DIR/failed-step"
      kiln_marker "build-begin $KILN_BUILD_ID"
      kiln_main || rc=$?
      if [ "$rc" -ne 0 ]; then
        status=failed
        if [ -f "$KILN_DIR/failed-step" ]; then failed=$(cat "$KILN_DIR/failed-step"); fi
      fi
      local IFS=,
      printf '{"protocol":1,"build_id":"%s","status":"%s","exit_code":%d,"failed_step":%s,"steps":[%s]}\n' \
        "$KILN_BUILD_ID" "$status" "$rc" "$( [ -n "$failed" ] && printf '"%s"' "$failed" || printf null)" \
        "${KILN_RESULTS[*]}" >"$KILN_RESULT"
      return "$rc"
    }

    """#

    /// Helpers the generated steps source: verified downloads, signed apt repositories.
    static let stepLibrary = #"""
    kiln_download() {
      curl -fsSL --retry 5 --retry-all-errors --retry-delay 2 --connect-timeout 30 -o "$3" "$1"
      if ! printf '%s  %s\n' "$2" "$3" | sha256sum -c --status; then
        echo "kiln: sha256 mismatch for $1: expected $2, got $(sha256sum "$3" | cut -d' ' -f1)" >&2
        return 1
      fi
    }
    kiln_fetch_file() {
      local tmp
      tmp=$(mktemp)
      kiln_download "$1" "$2" "$tmp"
      install -D -m "$4" -o "${5%%:*}" -g "${5##*:}" "$tmp" "$3"
      rm -f "$tmp"
    }
    # kiln_fetch_extract URL SHA256 DIR STRIP [UID:GID]: tar (any compression tar knows) or zip.
    kiln_fetch_extract() {
      local tmp src i
      tmp=$(mktemp -d)
      kiln_download "$1" "$2" "$tmp/archive"
      mkdir -p "$3"
      shopt -s dotglob nullglob
      if [ "$(head -c 4 "$tmp/archive" | od -An -tx1 | tr -d ' \n')" = 504b0304 ]; then
        unzip -q "$tmp/archive" -d "$tmp/x"
        src=$tmp/x
        for ((i = 0; i < $4; i++)); do
          local entries=("$src"/*)
          if [ "${#entries[@]}" -ne 1 ] || [ ! -d "${entries[0]}" ]; then
            echo "kiln: cannot strip a path component from $1: it has no single top directory" >&2
            return 1
          fi
          src=${entries[0]}
        done
        cp -a "$src/." "$3/"
      else
        tar -xf "$tmp/archive" -C "$3" --strip-components="$4" --no-same-owner
      fi
      if [ -n "${5:-}" ]; then chown -R "$5" "$3"; fi
      rm -rf "$tmp"
    }
    kiln_apt_repo() {
      local name=$1 url=$2 suite=$3 components=$4 key_url=$5 fingerprint=$6 tmp
      tmp=$(mktemp)
      curl -fsSL --retry 5 --retry-all-errors -o "$tmp" "$key_url"
      if ! gpg --batch --show-keys --with-colons "$tmp" \
          | awk -F: '$1 == "pub" { p = 1 } $1 == "fpr" && p { print $10; p = 0 }' | grep -qx "$fingerprint"; then
        echo "kiln: the key at $key_url is not $fingerprint" >&2
        return 1
      fi
      install -d -m 0755 /etc/apt/keyrings
      if grep -q 'BEGIN PGP' "$tmp"; then
        gpg --batch --yes --dearmor -o "/etc/apt/keyrings/$name.gpg" "$tmp"
      else
        install -m 0644 "$tmp" "/etc/apt/keyrings/$name.gpg"
      fi
      chmod 0644 "/etc/apt/keyrings/$name.gpg"
      {
        printf 'Types: deb\nURIs: %s\nSuites: %s\n' "$url" "$suite"
        if [ -n "$components" ]; then printf 'Components: %s\n' "$components"; fi
        printf 'Signed-By: /etc/apt/keyrings/%s.gpg\n' "$name"
      } >"/etc/apt/sources.list.d/$name.sources"
      rm -f "$tmp"
    }
    kiln_apt_install() {
      local recommends=$1
      shift
      local opts=(-y -q -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
      if [ "$recommends" != yes ]; then opts+=(--no-install-recommends); fi
      apt-get -q -o DPkg::Lock::Timeout=600 update
      apt-get install "${opts[@]}" "$@"
    }

    """#

    /// Runs the steps with timestamps, reports, cleans the image on success, powers off.
    static let epilogue = #"""
    kiln_upload() {
      if [ -n "$2" ] && [ -f "$1" ]; then
        curl -fsS --retry 5 --retry-all-errors --retry-delay 2 --connect-timeout 20 -X PUT --upload-file "$1" "$2" >/dev/null \
          || echo "kiln: upload of $(basename "$1") failed; the console marker still reports the result" >&2
      fi
    }
    # A clean image for students: cloud-init runs again on first boot, no host keys, no machine ID,
    # no history, caches, temporary files, build log or presigned URLs. Every command runs (this is
    # called where errexit does not apply); the checks at the end decide.
    kiln_clean_image() {
      apt-get clean >/dev/null 2>&1
      rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /root/.cache/pip
      rm -rf /tmp/* /tmp/.[!.]* /var/tmp/* /var/tmp/.[!.]*
      rm -f /etc/ssh/ssh_host_*
      truncate -s 0 /etc/machine-id
      rm -f /var/lib/dbus/machine-id
      rm -f /root/.bash_history /home/*/.bash_history
      unset HISTFILE
      if command -v cloud-init >/dev/null 2>&1; then
        cloud-init clean --logs --seed
      fi
      rm -rf /var/lib/cloud/instances/* /var/lib/cloud/instance /var/lib/cloud/data /var/lib/cloud/sem
      rm -f /var/log/cloud-init.log /var/log/cloud-init-output.log
      KILN_LOG_URL=''
      export KILN_LOG_URL
      rm -rf "$KILN_DIR" "$KILN_LOG"
      local problems=''
      if compgen -G '/etc/ssh/ssh_host_*' >/dev/null; then problems+=' ssh-host-keys'; fi
      if [ -s /etc/machine-id ]; then problems+=' machine-id'; fi
      if [ -e "$KILN_DIR" ]; then problems+=' kiln-dir'; fi
      if [ -n "$problems" ]; then
        kiln_console "::kiln:: clean-failed remaining:$problems"
        return 1
      fi
    }

    # From here on nothing may stop the script before power-off.
    set +e
    kiln_run 2>&1 | kiln_stamp
    kiln_status=${PIPESTATUS[0]}
    kiln_failed=''
    if [ -f "$KILN_DIR/failed-step" ]; then kiln_failed=$(cat "$KILN_DIR/failed-step"); fi
    kiln_upload "$KILN_LOG" "$KILN_LOG_URL"
    if [ "$kiln_status" -eq 0 ] && ! kiln_clean_image; then
      kiln_status=1
      kiln_failed=kiln/clean-image
      sed -i 's|"status":"succeeded","exit_code":0,"failed_step":null|"status":"failed","exit_code":1,"failed_step":"kiln/clean-image"|' "$KILN_RESULT"
    fi
    kiln_upload "$KILN_RESULT" "$KILN_RESULT_URL"
    KILN_RESULT_URL=''
    if [ "$kiln_status" -eq 0 ]; then
      kiln_console "::kiln:: result build=$KILN_BUILD_ID status=succeeded exit=0"
    else
      kiln_console "::kiln:: result build=$KILN_BUILD_ID status=failed exit=$kiln_status step=${kiln_failed:-none}"
    fi
    rm -f "$KILN_RESULT"
    sync
    poweroff || shutdown -P now

    """#
}

/// Accumulates a generated script.
struct ScriptWriter {
    private(set) var text = ""

    mutating func line(_ s: String) { text += s + "\n" }
    mutating func blank() { text += "\n" }
    mutating func raw(_ s: String) { text += s }

    /// Writes `body` to `path` on the instance through a quoted heredoc (no expansion inside).
    mutating func heredoc(to path: String, body: String, tag: String) {
        let delimiter = Shell.delimiter(tag, avoiding: body)
        line("cat >\"\(path)\" <<'\(delimiter)'")
        text += body.hasSuffix("\n") ? body : body + "\n"
        line(delimiter)
    }

    /// Embeds a local file and installs it with a mode and owner: a text file (UTF-8, no NUL or CR,
    /// ending in a newline) as itself in a quoted heredoc, which bash copies byte for byte and which
    /// gzip compresses far better than base64 (EC2's 16 KB user-data limit); anything else as base64.
    mutating func embed(file: String, to dest: String, mode: String, owner: String?) throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw RecipeError(SourcePosition(file: file, line: 1, column: 1), "cannot read '\(file)'")
        }
        let owner = owner ?? "0:0"
        line("install -d -m 0755 \"$(dirname \(dest))\"")
        if let text = Self.heredocText(data) {
            let delimiter = Shell.delimiter("KILN_FILE_EOF", avoiding: text)
            line("cat >\(dest) <<'\(delimiter)'")
            raw(text)
            line(delimiter)
        } else {
            let encoded = data.base64EncodedString(options: [.lineLength76Characters, .endLineWithLineFeed])
            let delimiter = Shell.delimiter("KILN_DATA_EOF", avoiding: encoded)
            line("base64 -d >\(dest) <<'\(delimiter)'")
            if !encoded.isEmpty { line(encoded) }
            line(delimiter)
        }
        line("chmod \(mode) \(dest)")
        line("chown \(owner) \(dest)")
    }

    /// The file's text when a quoted heredoc reproduces it exactly: valid UTF-8, non-empty, ending in
    /// a newline, without NUL (bash drops it) or carriage returns.
    static func heredocText(_ data: Data) -> String? {
        guard let last = data.last, last == 0x0A, !data.contains(0), !data.contains(0x0D),
              let text = String(data: data, encoding: .utf8) else { return nil }
        return text
    }
}
