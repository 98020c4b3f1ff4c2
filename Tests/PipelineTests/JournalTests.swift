import Foundation
import KilnTestSupport
import Pipeline
import Testing

/// The journal: written before and after each create call, valid JSON after every write, atomic
/// against a torn temporary file, and read back by `Journal.load`.
@Suite struct JournalTests {
    /// A step that creates a fake resource the way real steps do, checking the file around the create call.
    struct CreateThing: Step {
        let cloud: EventLog
        var name: String { "create thing" }

        func run(_ input: String, _ context: PipelineContext) throws -> String {
            let entry = try context.journal.creating(kind: "instance", region: "eu-west-1", token: "tok-\(input)", step: name)
            // The create call: by now the file must already say what is being created.
            let before = try Journal.load(path: context.journal.path)
            #expect(before.entries.count == entry + 1)
            #expect(before.entries[entry].state == "creating")
            #expect(before.entries[entry].id == nil)
            #expect(before.entries[entry].token == "tok-\(input)")
            #expect(before.entries[entry].creatingAt != nil)
            cloud.add("create i-123")
            let id = "i-123"
            try context.journal.created(entry, id: id)
            let after = try Journal.load(path: context.journal.path)
            #expect(after.entries[entry].state == "created")
            #expect(after.entries[entry].id == id)
            #expect(after.entries[entry].createdAt != nil)
            return id
        }

        func cleanup(_ output: String?, outcome: PipelineOutcome, _ context: PipelineContext) throws {
            guard let output else { return }
            cloud.add("delete \(output)")
            try context.journal.deleted(kind: "instance", id: output)
        }
    }

    @Test func entriesAreWrittenBeforeAndAfterTheCreateCall() throws {
        let h = try Harness(buildID: "b-42")
        #expect(h.journal.path == h.directory.path + "/.kiln/runs/b-42.json")
        let empty = try Journal.load(path: h.journal.path)  // exists from the start
        #expect(empty.buildID == "b-42" && empty.recipe == "jupyter" && empty.entries.isEmpty && empty.outcome == nil)
        #expect(empty.pid == ProcessInfo.processInfo.processIdentifier)

        let cloud = EventLog()
        #expect(try Pipeline(CreateThing(cloud: cloud)).run("x", context: h.context) == "i-123")
        #expect(cloud.events == ["create i-123", "delete i-123"])
        let record = try Journal.load(path: h.journal.path)
        #expect(record == h.journal.record)
        #expect(record.outcome == .succeeded)
        #expect(record.finishedAt != nil)
        #expect(record.entries.map(\.state) == ["deleted"])
        #expect(record.entries.first?.step == "create thing")
        #expect(record.remaining.isEmpty)
    }

    /// Every write leaves a complete JSON document that loads back to exactly what the journal holds.
    @Test func validJSONAfterEveryWrite() throws {
        let h = try Harness()
        let j = h.journal
        let operations: [(String, () throws -> Void)] = [
            ("creating group", { try j.creating(kind: "security-group", region: "us-east-1", token: "kiln-b", step: "sg") }),
            ("created group", { try j.created(0, id: "sg-1") }),
            ("creating instance", { try j.creating(kind: "instance", region: "us-east-1", token: "t \"quoted\" / ü", step: "launch") }),
            ("created instance", { try j.created(1, id: "i-1") }),
            ("creating image", { try j.creating(kind: "image", region: "eu-west-1", token: "kiln/jupyter/1.0", step: "copy") }),
            ("deleted instance", { try j.deleted(kind: "instance", id: "i-1") }),
            ("deleted unlisted snapshot", { try j.deleted(kind: "snapshot", id: "snap-9") }),
            ("finish", { try j.finish(outcome: .failed) }),
        ]
        for (name, operation) in operations {
            h.time.advance(1.5)
            try operation()
            let data = try Data(contentsOf: URL(fileURLWithPath: j.path))
            #expect((try? JSONSerialization.jsonObject(with: data)) is [String: Any], "after \(name)")
            #expect(try Journal.load(path: j.path) == j.record, "after \(name)")
            #expect(!FileManager.default.fileExists(atPath: j.path + ".tmp"), "after \(name)")
        }
        let record = j.record
        #expect(record.entries.map(\.state) == ["created", "deleted", "creating", "deleted"])
        #expect(record.entries[3].kind == "snapshot" && record.entries[3].id == "snap-9")
        #expect(record.remaining.map(\.kind) == ["security-group", "image"])
        #expect(record.outcome == .failed)
        #expect(record.entries[1].token == "t \"quoted\" / ü")
    }

    /// kiln killed mid-write leaves a torn `<journal>.tmp`: the journal itself is intact, and the next
    /// write replaces the torn file.
    @Test func survivesAPartiallyWrittenTemporaryFile() throws {
        let h = try Harness()
        try h.journal.creating(kind: "instance", region: "us-east-1", token: "t1", step: "launch")
        try h.journal.created(0, id: "i-1")
        let intact = h.journal.record
        let full = try String(contentsOfFile: h.journal.path, encoding: .utf8)
        let torn = String(full.prefix(full.count / 2))
        try torn.write(toFile: h.journal.path + ".tmp", atomically: false, encoding: .utf8)

        #expect(try Journal.load(path: h.journal.path) == intact)
        try h.journal.creating(kind: "image", region: "us-east-1", token: "t2", step: "image")
        #expect(try Journal.load(path: h.journal.path).entries.map(\.kind) == ["instance", "image"])
        #expect(!FileManager.default.fileExists(atPath: h.journal.path + ".tmp"))
    }

    @Test(arguments: [
        ("missing.json", nil),
        ("torn.json", #"{"buildID": "b", "entries": ["#),
        ("other.json", #"{"name": "not a journal"}"#),
        ("empty.json", ""),
    ] as [(String, String?)])
    func loadRejectsWhatIsNotAJournal(name: String, contents: String?) throws {
        let directory = try TempDirectory()
        let path = contents.map { try? directory.write(name, $0) } ?? directory.path + "/" + name
        let error = #expect(throws: PipelineError.self) { try Journal.load(path: path ?? "") }
        #expect(error?.description.contains("cannot read the build journal \(path ?? "")") == true)
    }

    @Test func aBuildIDIsNeverReused() throws {
        let h = try Harness(buildID: "b-1")
        let error = #expect(throws: PipelineError.self) {
            try Journal(directory: h.directory.path + "/.kiln/runs", buildID: "b-1", recipe: "r")
        }
        #expect(error?.description.contains("exists already") == true)
        #expect(try Journal.load(path: h.journal.path).recipe == "jupyter")  // untouched
    }

    @Test(arguments: ["", "a/b", "..", "."])
    func buildIDsThatCannotNameAFileAreRejected(id: String) throws {
        let directory = try TempDirectory()
        #expect(throws: PipelineError.self) { try Journal(directory: directory.path, buildID: id, recipe: "r") }
    }

    @Test func createdNeedsAnEntryFromCreating() throws {
        let h = try Harness()
        let error = #expect(throws: PipelineError.self) { try h.journal.created(3, id: "i-1") }
        #expect(error?.description.contains("no entry 3") == true)
    }

    @Test func aDirectoryThatCannotBeCreatedIsAClearError() throws {
        let directory = try TempDirectory()
        let file = try directory.write("file", "x")
        let error = #expect(throws: PipelineError.self) { try Journal(directory: file + "/runs", buildID: "b", recipe: "r") }
        #expect(error?.description.contains("cannot write the build journal") == true)
    }

    @Test func concurrentWritersLoseNothing() throws {
        let h = try Harness()
        let journal = h.journal
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            guard let entry = try? journal.creating(kind: "image", region: "r\(i)", token: "t\(i)", step: "copy") else { return }
            try? journal.created(entry, id: "ami-\(i)")
        }
        let record = try Journal.load(path: journal.path)
        #expect(record.entries.count == 16)
        #expect(Set(record.entries.compactMap(\.id)) == Set((0..<16).map { "ami-\($0)" }))
        #expect(record.entries.allSatisfy { $0.id == "ami-" + $0.region.dropFirst() })
    }
}
