import Foundation
import Testing
import KilnTestSupport
@testable import Catalog
import Recipe

/// An entry as a build would record it.
func entry(_ recipe: String, id: String, target: Target = .ami, amis: [String: String] = [:], builtAt: Date? = nil,
           hash: String? = nil) -> CatalogEntry {
    CatalogEntry(id: id, recipe: recipe, version: "1", target: target, hash: hash ?? "sha256:" + String(repeating: "a", count: 64),
                 kilnVersion: "test", builtAt: builtAt ?? Date(timeIntervalSince1970: 1_763_683_200), seconds: 60, amis: amis)
}

@Suite("catalog file: format, history, atomic locked updates")
struct CatalogStoreTests {
    @Test("the committed empty catalog and hand-written minimal entries read")
    func legacy() throws {
        let empty = try CatalogStore.decode(Data("{\"format\":1,\"images\":[]}".utf8), shownAs: "c.json")
        #expect(empty == CatalogDocument())
        let minimal = try CatalogStore.decode(Data("{\"format\": 1, \"images\": [{\"recipe\": \"a\", \"hash\": \"sha256:1\"}]}".utf8),
                                              shownAs: "c.json")
        #expect(minimal.images.first?.recipe == "a")
        #expect(minimal.hashes == ["sha256:1"])
        let repository = try CatalogStore(path: repositoryRoot + "/images/catalog.json").read()
        #expect(repository.format == 1)
    }

    @Test("a malformed catalog is an error naming the file and saying how to restore it", arguments: [
        "{\"images\": [", "{\"format\": 1}", "{\"format\": 1, \"images\": [{\"recipe\": \"a\"}]}", "[]",
    ])
    func malformed(_ text: String) throws {
        let error = #expect(throws: CatalogError.self) { try CatalogStore.decode(Data(text.utf8), shownAs: "images/catalog.json") }
        #expect(error?.isMalformed == true)
        #expect(error?.description.contains("images/catalog.json is not a valid catalog") == true)
        #expect(error?.description.contains("git checkout -- images/catalog.json") == true)
    }

    @Test("recording a build makes it current and keeps the previous one in the history")
    func history() throws {
        var document = CatalogDocument()
        document.record(entry("a", id: "a-1"))
        document.record(entry("a", id: "a-1-oci", target: .oci))
        document.record(entry("b", id: "b-1"))
        document.record(entry("a", id: "a-2"))
        #expect(document.images.map(\.id) == ["a-1", "a-1-oci", "b-1", "a-2"])
        #expect(document.images.map(\.current) == [false, true, true, true])
        #expect(document.current(target: .ami).map(\.id) == ["a-2", "b-1"])
        #expect(document.current(target: .oci).map(\.id) == ["a-1-oci"])
        // The same build recorded twice is one entry.
        document.record(entry("a", id: "a-2"))
        #expect(document.images.filter { $0.id == "a-2" }.count == 1)
    }

    @Test("an entry survives encode and decode, with dates in ISO 8601")
    func roundTrip() throws {
        var e = entry("a", id: "a-1", amis: ["us-east-1": "ami-1", "eu-west-1": "ami-2"])
        e.oci = CatalogEntry.OCIImage(repository: "r.example/a", digest: "sha256:" + String(repeating: "b", count: 64), tags: ["1"])
        e.sharing = CatalogEntry.Sharing(public: true, accounts: ["123456789012"])
        e.contents = CatalogEntry.Contents(params: ["python_version": "3.12.13"], apt: ["git=1:2.43"], pip: ["numpy==2.1"])
        e.estimatedCostUSD = 0.0139
        let document = CatalogDocument(images: [e])
        let data = try CatalogStore.encode(document)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"builtAt\" : \"2025-11-21T00:00:00Z\""))
        #expect(text.hasSuffix("}\n"))
        #expect(try CatalogStore.decode(data, shownAs: "x") == document)
    }

    @Test("update writes atomically: no temporary file is left, a missing file is created")
    func update() throws {
        let dir = try TempDirectory()
        let store = CatalogStore(path: dir.path + "/images/catalog.json")
        try store.update { $0.record(entry("a", id: "a-1")) }
        try store.update { $0.record(entry("b", id: "b-1")) }
        #expect(try store.read().images.map(\.id) == ["a-1", "b-1"])
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/images").sorted()
        #expect(files == ["catalog.json", "catalog.json.lock"])
        // A failing body leaves the file as it was.
        struct Boom: Error {}
        #expect(throws: Boom.self) { try store.update { doc in doc.images.removeAll(); throw Boom() } }
        #expect(try store.read().images.count == 2)
    }

    @Test("8 threads × 20 updates at once: every entry lands and the file is valid JSON throughout")
    func threads() throws {
        let dir = try TempDirectory()
        let store = CatalogStore(path: dir.path + "/catalog.json")
        let failures = Failures()
        let stop = Flag()
        let readerDone = DispatchSemaphore(value: 0)
        // A reader that must never see a half-written file.
        let reader = Thread {
            defer { readerDone.signal() }
            while !stop.isSet {
                if let data = FileManager.default.contents(atPath: store.path) {
                    do { _ = try CatalogStore.decode(data, shownAs: "catalog.json") } catch { failures.add("reader: \(error)") }
                }
            }
        }
        reader.start()
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for n in 0..<20 {
                do {
                    try store.update { $0.record(entry("r\(thread)", id: "t\(thread)-\(n)")) }
                } catch {
                    failures.add("thread \(thread): \(error)")
                }
            }
        }
        stop.set()
        readerDone.wait()
        #expect(failures.all.isEmpty, "\(failures.all.prefix(3))")
        let document = try store.read()
        #expect(document.images.count == 160)
        #expect(Set(document.images.map(\.id)) == Set((0..<8).flatMap { t in (0..<20).map { "t\(t)-\($0)" } }))
        // Each recipe's last update is its current one.
        #expect(Set(document.current(target: .ami).map(\.id)) == Set((0..<8).map { "t\($0)-19" }))
    }

    @Test("child processes appending under the same flock protocol, alongside threads: nothing is lost")
    func processes() throws {
        guard let python = requireProgram("python3", install: "apt-get install python3") else { return }
        let dir = try TempDirectory()
        let store = CatalogStore(path: dir.path + "/catalog.json")
        try store.update { _ in }
        // Another writer, as a separate process: lock catalog.json.lock, read, append, write a temporary
        // file, fsync, rename (the protocol docs/catalog.md documents).
        let script = try dir.write("append.py", """
        import fcntl, json, os, sys
        path, tag, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
        for n in range(count):
            with open(path + ".lock", "a+") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                with open(path) as f:
                    doc = json.load(f)
                doc["images"].append({"id": "%s-%d" % (tag, n), "recipe": tag, "hash": "sha256:x", "target": "oci"})
                tmp = "%s.tmp-%d" % (path, os.getpid())
                with open(tmp, "w") as f:
                    json.dump(doc, f)
                    f.flush()
                    os.fsync(f.fileno())
                os.rename(tmp, path)
        """)
        let children = try (0..<4).map { index -> Process in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [script, store.path, "p\(index)", "20"]
            try process.run()
            return process
        }
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for n in 0..<20 {
                do { try store.update { $0.record(entry("t\(thread)", id: "t\(thread)-\(n)")) } } catch { failures.add("\(error)") }
            }
        }
        for child in children {
            child.waitUntilExit()
            #expect(child.terminationStatus == 0)
        }
        #expect(failures.all.isEmpty, "\(failures.all.prefix(3))")
        let ids = Set(try store.read().images.map(\.id))
        #expect(ids.count == 160)
        #expect(ids.isSuperset(of: (0..<4).flatMap { p in (0..<20).map { "p\(p)-\($0)" } }))
        #expect(ids.isSuperset(of: (0..<4).flatMap { t in (0..<20).map { "t\(t)-\($0)" } }))
    }
}

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

/// Failures collected from several threads.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ item: String) { lock.withLock { items.append(item) } }
    var all: [String] { lock.withLock { items } }
}

/// A flag set from one thread and read by another.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

@Suite("merging build jobs' catalogs")
struct CatalogMergeTests {
    @Test("new builds are recorded in order and become current; known builds and history are left alone")
    func merge() {
        var repository = CatalogDocument()
        repository.record(entry("a", id: "a-1"))
        repository.record(entry("b", id: "b-1"))
        var job1 = CatalogDocument()
        job1.record(entry("a", id: "a-2"))
        var job2 = CatalogDocument()
        job2.record(entry("a", id: "a-1"))            // already known: skipped
        job2.record(entry("b", id: "b-2", target: .oci))
        #expect(repository.merge(job1) == ["a-2"])
        #expect(repository.merge(job2) == ["b-2"])
        #expect(repository.merge(job1) == [], "merging twice adds nothing")
        #expect(repository.images.map(\.id) == ["a-1", "b-1", "a-2", "b-2"])
        #expect(repository.current(target: .ami).map(\.id) == ["a-2", "b-1"])
        #expect(repository.current(target: .oci).map(\.id) == ["b-2"])
    }
}
