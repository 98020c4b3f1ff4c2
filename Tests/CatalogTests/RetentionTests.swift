import Foundation
import Testing
@testable import Catalog
import Recipe

@Suite("retention: which builds gc removes")
struct RetentionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        /// (id, day built, current, deleted)
        var builds: [(String, Int, Bool, Bool)]
        var keep: Int
        var expected: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "keep 2 of 4", builds: [("a1", 1, false, false), ("a2", 2, false, false), ("a3", 3, false, false), ("a4", 4, true, false)],
             keep: 2, expected: ["a1", "a2"]),
        Case(name: "the current one is kept even when old", builds: [("a1", 1, true, false), ("a2", 2, false, false), ("a3", 3, false, false)],
             keep: 1, expected: ["a2"]),
        Case(name: "keep 0 still keeps the current one", builds: [("a1", 1, false, false), ("a2", 2, true, false)],
             keep: 0, expected: ["a1"]),
        Case(name: "already deleted builds are not counted or removed again",
             builds: [("a1", 1, false, true), ("a2", 2, false, false), ("a3", 3, true, false)], keep: 1, expected: ["a2"]),
        Case(name: "fewer than keep: nothing", builds: [("a1", 1, false, false), ("a2", 2, true, false)], keep: 5, expected: []),
    ]

    @Test("expired builds", arguments: cases)
    func expired(_ c: Case) {
        var document = CatalogDocument()
        for (id, day, current, deleted) in c.builds {
            var e = entry("a", id: id, amis: ["us-east-1": "ami-\(id)"], builtAt: Date(timeIntervalSince1970: Double(day) * 86400))
            e.current = current
            e.deleted = deleted ? Date() : nil
            document.images.append(e)
        }
        // Another recipe's builds are never touched.
        document.images.append(entry("b", id: "b1", amis: ["us-east-1": "ami-b1"], builtAt: Date(timeIntervalSince1970: 0)))
        #expect(Retention.expired(document, keep: c.keep, recipes: ["a"]).map(\.id) == c.expected)
        #expect(Retention.expired(document, keep: c.keep).map(\.id) == c.expected, "b1 is current: never removed")
    }

    @Test("OCI builds and builds without AMIs are not gc's to remove")
    func ociUntouched() {
        var document = CatalogDocument()
        document.record(entry("a", id: "o1", target: .oci))
        document.record(entry("a", id: "o2", target: .oci))
        #expect(Retention.expired(document, keep: 0).isEmpty)
    }

    @Test("marking deleted clears current and stamps the date")
    func markDeleted() {
        var document = CatalogDocument()
        document.record(entry("a", id: "a1", amis: ["us-east-1": "ami-1"]))
        document.record(entry("a", id: "a2", amis: ["us-east-1": "ami-2"]))
        let date = Date(timeIntervalSince1970: 1000)
        Retention.markDeleted([document.images[0]], in: &document, at: date)
        #expect(document.images[0].deleted == date)
        #expect(document.images[1].deleted == nil && document.images[1].current)
    }
}

@Suite("price table and recommendations")
struct PriceTableTests {
    @Test("recommended types", arguments: [
        ([String](), "amd64", ["base"], ["t3.large", "m7i.xlarge"]),
        ([], "arm64", ["base"], ["t4g.large", "m7g.xlarge"]),
        (["m7i.large"], "amd64", ["base", "jupyter"], ["m7i.large"]),
        (["t3.large"], "amd64", ["base", "cuda", "datascience-gpu"], ["g4dn.xlarge", "g5.xlarge"]),
    ])
    func recommended(_ c: ([String], String, [String], [String])) {
        #expect(PriceTable.recommended(recipeTypes: c.0, arch: c.1, lineage: c.2) == c.3)
    }

    @Test("build cost is duration × hourly price, and unknown for a type the table lacks")
    func cost() {
        #expect(PriceTable.buildCost(seconds: 1800, instanceType: "t3.large") == 0.0416)
        #expect(PriceTable.buildCost(seconds: 1800, instanceType: "x9.huge") == nil)
        #expect(PriceTable.buildCost(seconds: 1800, instanceType: nil) == nil)
        #expect(PriceTable.rows.allSatisfy { $0.hourlyUSD > 0 })
    }
}
