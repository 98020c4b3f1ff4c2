import AWSCore
import Foundation

/// An EBS snapshot, with the fields kiln uses (`Snapshot`).
public struct Snapshot: Sendable, Hashable, XMLDecodable {
    /// The snapshot's ID.
    public var snapshotID: String
    /// The volume it was taken from.
    public var volumeID: String?
    /// `pending`, `completed`, `error`, `recoverable` or `recovering`.
    public var state: String?
    /// When it was started.
    public var startTime: Date?
    /// How far along it is (`100%`).
    public var progress: String?
    /// The owning account.
    public var ownerID: String?
    /// The size in GiB.
    public var volumeSize: Int?
    /// Its description.
    public var description: String?
    /// Whether it is encrypted.
    public var encrypted: Bool?
    /// Its tags.
    public var tags: [Tag]

    /// Creates a snapshot description (for fakes in tests of code above this module).
    public init(snapshotID: String, volumeID: String? = nil, state: String? = nil, startTime: Date? = nil,
                progress: String? = nil, ownerID: String? = nil, volumeSize: Int? = nil, description: String? = nil,
                encrypted: Bool? = nil, tags: [Tag] = []) {
        self.snapshotID = snapshotID
        self.volumeID = volumeID
        self.state = state
        self.startTime = startTime
        self.progress = progress
        self.ownerID = ownerID
        self.volumeSize = volumeSize
        self.description = description
        self.encrypted = encrypted
        self.tags = tags
    }

    init(xml: XMLNode) throws {
        self.init(snapshotID: try xml.required("snapshotId"), volumeID: xml.optional("volumeId"),
                  state: xml.optional("status"), startTime: xml.date("startTime"), progress: xml.optional("progress"),
                  ownerID: xml.optional("ownerId"), volumeSize: xml.int("volumeSize"),
                  description: xml.optional("description"), encrypted: xml.bool("encrypted"), tags: try xml.tagSet())
    }
}

extension EC2Client {
    /// `DeleteSnapshot`: deletes a snapshot (it fails with `InvalidSnapshot.InUse` while a registered
    /// AMI uses it).
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSnapshot.html
    public func deleteSnapshot(snapshotID: String) throws {
        var parameters = QueryParameters()
        parameters.add("SnapshotId", snapshotID)
        try callReturningBool("DeleteSnapshot", parameters)
    }

    /// `DescribeSnapshots`: the snapshots with these IDs, of these owners (`self`, `amazon`, account IDs),
    /// matching these filters; every page. `maxResults` sets the page size; the API forbids it together
    /// with snapshot IDs, so it is left out then.
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSnapshots.html
    public func describeSnapshots(snapshotIDs: [String] = [], ownerIDs: [String] = [], filters: [Filter] = [],
                                  maxResults: Int? = nil) throws -> [Snapshot] {
        var parameters = QueryParameters()
        parameters.add(list: "SnapshotId", snapshotIDs)
        parameters.add(list: "Owner", ownerIDs)
        parameters.add(list: "Filter", filters)
        if snapshotIDs.isEmpty { parameters.add("MaxResults", maxResults) }
        return try paginate("DescribeSnapshots", parameters) { try $0.list("snapshotSet") }
    }
}
