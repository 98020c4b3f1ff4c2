import Foundation
import Testing
import KilnTestSupport
@testable import KilnCommands
import AWSCore
import Catalog
import EC2
import Recipe

/// moto's keys, and one attempt per request (moto answers calls it lacks with HTTP 500, which is retried otherwise).
func motoEnvironment() -> [String: String] {
    ["AWS_ACCESS_KEY_ID": MotoServer.accessKeyID, "AWS_SECRET_ACCESS_KEY": MotoServer.secretAccessKey, "AWS_MAX_ATTEMPTS": "1",
     "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"]
}

/// Makes real AMIs in moto: an instance of moto's Amazon Linux image, imaged, copied to other regions.
struct AMIFactory {
    let ec2: EC2Client
    let base: String

    init() throws {
        ec2 = try EC2Client(config: MotoScope.config())
        let images = try ec2.describeImages(owners: ["amazon"], filters: [EC2.Filter(name: "name", values: ["amzn2-ami-hvm-*"])])
        base = try #require(images.first?.imageID)
    }

    /// An AMI in us-east-1 and copies in `copies`: region → (AMI, snapshots).
    func make(_ name: String, copies: [String] = []) throws -> [String: (ami: String, snapshots: [String])] {
        let reservation = try ec2.runInstances(RunInstancesRequest(imageID: base, instanceType: "t3.micro"))
        let instance = try #require(reservation.instances.first?.instanceID)
        defer { _ = try? ec2.terminateInstances(instanceIDs: [instance]) }
        let ami = try ec2.createImage(CreateImageRequest(instanceID: instance, name: unique(name)))
        var made: [String: (ami: String, snapshots: [String])] = [:]
        made["us-east-1"] = (ami, try #require(try ec2.describeImages(imageIDs: [ami]).first).snapshotIDs)
        for region in copies {
            let regional = try ec2.inRegion(region)
            let copy = try regional.copyImage(CopyImageRequest(sourceImageID: ami, sourceRegion: "us-east-1", name: unique(name)))
            made[region] = (copy, try #require(try regional.describeImages(imageIDs: [copy]).first).snapshotIDs)
        }
        return made
    }

    /// Whether an AMI is still registered.
    func exists(ami: String, region: String) throws -> Bool {
        let regional = try ec2.inRegion(region)
        guard let images = try? regional.describeImages(imageIDs: [ami]) else { return false }
        return images.contains { $0.imageID == ami && $0.state != "deregistered" }
    }

    /// Whether a snapshot still exists.
    func exists(snapshot: String, region: String) throws -> Bool {
        let regional = try ec2.inRegion(region)
        guard let snapshots = try? regional.describeSnapshots(snapshotIDs: [snapshot]) else { return false }
        return snapshots.contains { $0.snapshotID == snapshot }
    }
}

@Suite("kiln gc on moto", .moto, .serialized)
struct GCCommandTests {
    @Test("gc --keep 1 removes exactly the older, not current AMIs and their snapshots, in every region, and marks them deleted")
    func keepOne() throws {
        let moto = try #require(MotoScope.current)
        let factory = try AMIFactory()
        let dir = try TempDir()
        let catalogPath = dir.path + "/images/catalog.json"
        // lab: four builds, each in two regions; l2 is current (a rollback), l4 the newest. other: two builds.
        var made: [String: [String: (ami: String, snapshots: [String])]] = [:]
        var document = CatalogDocument()
        for (index, id) in ["l1", "l2", "l3", "l4", "o1", "o2"].enumerated() {
            let amis = try factory.make(id, copies: ["us-west-2"])
            made[id] = amis
            let recipe = id.hasPrefix("l") ? "lab" : "other"
            document.record(CatalogEntry(id: id, recipe: recipe, version: "v\(index)", target: .ami, hash: "sha256:\(id)",
                                         kilnVersion: "test", builtAt: Date(timeIntervalSince1970: 1_700_000_000 + Double(index) * 86400),
                                         seconds: 1, amis: amis.mapValues(\.ami)))
        }
        document.images = document.images.map { var e = $0; if e.id == "l2" { e.current = true }; if e.id == "l4" { e.current = false }; return e }
        try CatalogStore(path: catalogPath).update { $0 = document }
        let common = ["--endpoint-url", moto.url, "--region", "us-east-1", "--catalog", catalogPath]

        // A dry run names l1 and l3 in both regions and removes nothing.
        let (dryCode, dry) = kiln(["gc", "--keep", "1", "--dry-run", "--json", "lab"] + common, in: dir.path, environment: motoEnvironment())
        #expect(dryCode == 0, "\(dry.err)")
        struct Output: Decodable {
            struct Removed: Decodable { var build: String; var region: String; var ami: String; var snapshots: [String] }
            var removed: [Removed]
        }
        let planned = try JSONDecoder().decode(Output.self, from: Data(dry.out.utf8))
        #expect(Set(planned.removed.map { "\($0.build)/\($0.region)" }) == ["l1/us-east-1", "l1/us-west-2", "l3/us-east-1", "l3/us-west-2"])
        #expect(try factory.exists(ami: try #require(made["l1"]?["us-east-1"]?.ami), region: "us-east-1"))
        #expect(try CatalogStore(path: catalogPath).read() == document)

        let (code, io) = kiln(["gc", "--keep", "1", "lab"] + common, in: dir.path, environment: motoEnvironment())
        #expect(code == 0, "\(io.err)")
        for (id, regions) in made {
            let gone = id == "l1" || id == "l3"
            for (region, item) in regions {
                #expect(try factory.exists(ami: item.ami, region: region) == !gone, "\(id) AMI \(item.ami) in \(region)")
                #expect(!item.snapshots.isEmpty)
                for snapshot in item.snapshots {
                    #expect(try factory.exists(snapshot: snapshot, region: region) == !gone, "\(id) snapshot \(snapshot) in \(region)")
                }
            }
        }
        let after = try CatalogStore(path: catalogPath).read()
        #expect(Set(after.images.filter { $0.deleted != nil }.map(\.id)) == ["l1", "l3"])
        #expect(after.images.first { $0.id == "l2" }?.current == true)

        // Again: nothing more to remove for lab; without names, other's older build goes too.
        let (again, againIO) = kiln(["gc", "--keep", "1", "--json"] + common, in: dir.path, environment: motoEnvironment())
        #expect(again == 0, "\(againIO.err)")
        let second = try JSONDecoder().decode(Output.self, from: Data(againIO.out.utf8))
        #expect(Set(second.removed.map(\.build)) == ["o1"])
        #expect(try !factory.exists(ami: try #require(made["o1"]?["us-west-2"]?.ami), region: "us-west-2"))
        #expect(try factory.exists(ami: try #require(made["o2"]?["us-west-2"]?.ami), region: "us-west-2"))
    }

    @Test("gc refuses a recipe the catalog does not know and a negative --keep")
    func usage() throws {
        let dir = try TempDir()
        try dir.write("images/catalog.json", "{\"format\": 1, \"images\": []}")
        let (code, io) = kiln(["gc", "--keep", "1", "nope"], in: dir.path)
        #expect(code == 64)
        #expect(io.err.contains("not in images/catalog.json: nope"))
        let (negative, _) = kiln(["gc", "--keep", "-1"], in: dir.path)
        #expect(negative == 64)
        // Nothing to remove: no AWS call, no region needed.
        let (empty, emptyIO) = kiln(["gc", "--keep", "1"], in: dir.path)
        #expect(empty == 0, "\(emptyIO.err)")
    }
}
