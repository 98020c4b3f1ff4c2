import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One resource of a build, as the journal knows it.
public struct JournalEntry: Codable, Sendable, Equatable {
    /// What it is: "instance", "security-group", "image", "snapshot", "object", …
    public var kind: String
    /// The region it lives in ("" when a cleanup deleted something the journal did not list).
    public var region: String
    /// The idempotency token or name used to create it, so `kiln sweep` can find it without an ID.
    public var token: String
    /// The step that created it.
    public var step: String
    /// Its ID once the create call returned one.
    public var id: String?
    /// "creating" (the create call may or may not have happened), "created", or "deleted" (confirmed gone).
    public var state: String
    /// When the create call was about to be made.
    public var creatingAt: Date?
    /// When the create call returned the ID.
    public var createdAt: Date?
    /// When a cleanup confirmed it gone.
    public var deletedAt: Date?

    /// Creates an entry.
    public init(kind: String, region: String, token: String, step: String, id: String? = nil, state: String,
                creatingAt: Date? = nil, createdAt: Date? = nil, deletedAt: Date? = nil) {
        self.kind = kind
        self.region = region
        self.token = token
        self.step = step
        self.id = id
        self.state = state
        self.creatingAt = creatingAt
        self.createdAt = createdAt
        self.deletedAt = deletedAt
    }

    /// Whether the resource may still exist (it was not confirmed gone).
    public var mayExist: Bool { state != "deleted" }
}

/// The contents of a journal file: the build and every resource it created.
public struct JournalRecord: Codable, Sendable, Equatable {
    /// The file format's version (1).
    public var version: Int
    /// The build's ID.
    public var buildID: String
    /// The recipe being built.
    public var recipe: String
    /// The kiln process that wrote the journal (`kiln sweep` leaves a running build alone).
    public var pid: Int32
    /// When the build started.
    public var startedAt: Date
    /// When the build ended, after its cleanups; nil while it runs or when kiln was killed.
    public var finishedAt: Date?
    /// How the build ended.
    public var outcome: PipelineOutcome?
    /// Every resource, in the order the creates were attempted.
    public var entries: [JournalEntry]

    /// Creates a record.
    public init(version: Int = 1, buildID: String, recipe: String, pid: Int32, startedAt: Date,
                finishedAt: Date? = nil, outcome: PipelineOutcome? = nil, entries: [JournalEntry] = []) {
        self.version = version
        self.buildID = buildID
        self.recipe = recipe
        self.pid = pid
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.outcome = outcome
        self.entries = entries
    }

    /// The entries not confirmed gone: what `kiln sweep` looks for.
    public var remaining: [JournalEntry] { entries.filter(\.mayExist) }
}

/// Every resource a build creates, written (atomically: temp file, fsync, rename) to `.kiln/runs/<build-id>.json`.
///
/// Each change rewrites the whole file: the JSON goes to `<path>.tmp`, which is fsynced and renamed over
/// the journal (then the directory is fsynced), so the file is always complete and valid, whenever kiln
/// is killed. Thread-safe; writes are serialised.
public final class Journal: @unchecked Sendable {
    /// The journal file's path: `<directory>/<build-id>.json`.
    public let path: String
    private let clock: @Sendable () -> Date
    private let lock = NSLock()
    private var current: JournalRecord

    /// Creates the directory and writes the journal of a new build; throws if that build's journal
    /// already exists (it may list resources still to sweep).
    public init(directory: String, buildID: String, recipe: String,
                clock: @escaping @Sendable () -> Date = { Date() }) throws {
        let path = (directory as NSString).appendingPathComponent("\(buildID).json")
        self.path = path
        self.clock = clock
        guard !buildID.isEmpty, !buildID.contains("/"), buildID != ".", buildID != ".." else {
            throw PipelineError(.journalUsage(path: path, message: "build ID '\(buildID)' cannot name a file"))
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw PipelineError(.journalWrite(path: path, operation: "create directory \(directory)",
                                              message: String(describing: error)))
        }
        guard !FileManager.default.fileExists(atPath: path) else {
            throw PipelineError(.journalUsage(path: path, message: "exists already; every build needs a new build ID"))
        }
        current = JournalRecord(buildID: buildID, recipe: recipe, pid: getpid(), startedAt: Self.wholeSeconds(clock()))
        try Self.persist(current, to: path)
    }

    /// Reads a journal file (for `kiln sweep`).
    public static func load(path: String) throws -> JournalRecord {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw PipelineError(.journalRead(path: path, message: String(describing: error)))
        }
        do {
            return try decoder().decode(JournalRecord.self, from: data)
        } catch {
            throw PipelineError(.journalRead(path: path, message: "not a kiln journal: \(error)"))
        }
    }

    /// What the journal holds now (what was last written, or was to be written when a write failed).
    public var record: JournalRecord { lock.withLock { current } }

    /// Written BEFORE the create call: kind ("instance", "security-group", "image", "snapshot", "object", …),
    /// region, the idempotency token or name used, the step. Returns the entry's index.
    @discardableResult
    public func creating(kind: String, region: String, token: String, step: String) throws -> Int {
        try update { record, now in
            record.entries.append(JournalEntry(kind: kind, region: region, token: token, step: step,
                                               state: "creating", creatingAt: now))
            return record.entries.count - 1
        }
    }

    /// Written AFTER the create call returned the resource's ID.
    public func created(_ entry: Int, id: String) throws {
        try update { record, now in
            guard record.entries.indices.contains(entry) else {
                throw PipelineError(.journalUsage(path: path, message: "no entry \(entry) (it has \(record.entries.count))"))
            }
            record.entries[entry].id = id
            record.entries[entry].state = "created"
            record.entries[entry].createdAt = now
        }
    }

    /// When a cleanup confirmed it gone: marks every entry of that kind and ID deleted, or adds a
    /// deleted entry when the journal did not list it (a snapshot an image made, say).
    public func deleted(kind: String, id: String) throws {
        try update { record, now in
            let matches = record.entries.indices.filter { record.entries[$0].kind == kind && record.entries[$0].id == id }
            if matches.isEmpty {
                record.entries.append(JournalEntry(kind: kind, region: "", token: "", step: "", id: id,
                                                   state: "deleted", deletedAt: now))
            }
            for index in matches where record.entries[index].state != "deleted" {
                record.entries[index].state = "deleted"
                record.entries[index].deletedAt = now
            }
        }
    }

    /// Records how the build ended (after its cleanups).
    public func finish(outcome: PipelineOutcome) throws {
        try update { record, now in
            record.outcome = outcome
            record.finishedAt = now
        }
    }

    /// Changes the record and writes it. The change stays in memory even when the write fails, so
    /// cleanups still see an ID that was returned.
    private func update<T>(_ change: (inout JournalRecord, Date) throws -> T) throws -> T {
        try lock.withLock {
            var next = current
            let result = try change(&next, Self.wholeSeconds(clock()))
            current = next
            try Self.persist(next, to: path)
            return result
        }
    }

    /// Times are kept to the second, as the file stores them, so `record` equals what `load` reads.
    private static func wholeSeconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }

    private static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    private static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }

    /// Writes the record atomically: `<path>.tmp` (truncated, so a torn leftover does not matter),
    /// fsync, rename over `path`, fsync the directory.
    private static func persist(_ record: JournalRecord, to path: String) throws {
        func failure(_ operation: String) -> PipelineError {
            PipelineError(.journalWrite(path: path, operation: operation, message: String(cString: strerror(errno))))
        }
        var data: Data
        do {
            data = try encoder().encode(record)
        } catch {
            throw PipelineError(.journalWrite(path: path, operation: "encode", message: String(describing: error)))
        }
        data.append(0x0A)
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("open \(temporary)") }
        var closed = false
        defer { if !closed { close(fd) } }
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw failure("write \(temporary)")
                }
                offset += written
            }
        }
        guard fsync(fd) == 0 else { throw failure("fsync \(temporary)") }
        closed = true
        guard close(fd) == 0 else { throw failure("close \(temporary)") }
        guard rename(temporary, path) == 0 else { throw failure("rename \(temporary)") }
        let directory = (path as NSString).deletingLastPathComponent
        let dirfd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_CLOEXEC)
        if dirfd >= 0 {
            _ = fsync(dirfd)  // best effort: some file systems refuse fsync on a directory
            close(dirfd)
        }
    }
}
