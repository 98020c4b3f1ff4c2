import AWSCore
import Foundation

extension EC2Client {
    /// `CreateImage`: starts an AMI from an instance and returns its ID (it is `pending` at first).
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateImage.html
    public func createImage(_ request: CreateImageRequest) throws -> String {
        try call("CreateImage", request.parameters) { try $0.required("imageId") }
    }

    /// `DescribeImages`: the AMIs with these IDs, of these owners (`self`, `amazon`, account IDs),
    /// matching these filters; every page. `maxResults` (1–1000) sets the page size; the API forbids it
    /// together with image IDs, so it is left out then.
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeImages.html
    public func describeImages(imageIDs: [String] = [], owners: [String] = [], filters: [Filter] = [],
                               includeDeprecated: Bool? = nil, maxResults: Int? = nil) throws -> [Image] {
        var parameters = QueryParameters()
        parameters.add(list: "ImageId", imageIDs)
        parameters.add(list: "Owner", owners)
        parameters.add(list: "Filter", filters)
        parameters.add("IncludeDeprecated", includeDeprecated)
        if imageIDs.isEmpty { parameters.add("MaxResults", maxResults) }
        return try paginate("DescribeImages", parameters) { try $0.list("imagesSet") }
    }

    /// `CopyImage`: copies an AMI from `request.sourceRegion` into this client's region and returns the
    /// copy's ID (call it on a client of the destination region, e.g. `inRegion(_:)`).
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopyImage.html
    public func copyImage(_ request: CopyImageRequest) throws -> String {
        try call("CopyImage", request.parameters) { try $0.required("imageId") }
    }

    /// `DeregisterImage`: deregisters an AMI. Its snapshots stay (and are billed): delete them with
    /// `deleteSnapshot(snapshotID:)` afterwards.
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeregisterImage.html
    public func deregisterImage(imageID: String) throws {
        var parameters = QueryParameters()
        parameters.add("ImageId", imageID)
        try callReturningBool("DeregisterImage", parameters)
    }

    /// `ModifyImageAttribute` for launch permissions: shares or unshares an AMI (publicly with
    /// `LaunchPermission.all`, or with accounts, organizations and organizational units).
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyImageAttribute.html
    public func modifyImageAttribute(imageID: String, launchPermission: LaunchPermissionModifications) throws {
        var parameters = QueryParameters()
        parameters.add("ImageId", imageID)
        parameters.add(structure: "LaunchPermission", launchPermission)
        try callReturningBool("ModifyImageAttribute", parameters)
    }

    /// `DescribeImageAttribute`: one attribute of an AMI.
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeImageAttribute.html
    public func describeImageAttribute(imageID: String, attribute: ImageAttributeName) throws -> ImageAttribute {
        var parameters = QueryParameters()
        parameters.add("ImageId", imageID)
        parameters.add("Attribute", attribute.rawValue)
        return try call("DescribeImageAttribute", parameters) { try ImageAttribute(xml: $0) }
    }

    /// `EnableImageDeprecation`: deprecates an AMI at a time (UTC, sent as `YYYY-MM-DDTHH:MM:SSZ`;
    /// AWS rounds to the minute, and refuses the past and more than 10 years ahead).
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_EnableImageDeprecation.html
    @discardableResult
    public func enableImageDeprecation(imageID: String, deprecateAt: Date) throws -> Bool {
        var parameters = QueryParameters()
        parameters.add("ImageId", imageID)
        parameters.add("DeprecateAt", deprecateAt)
        return try callReturningBool("EnableImageDeprecation", parameters)
    }

    /// `GetImageBlockPublicAccessState`: whether public sharing of AMIs is blocked in this region.
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetImageBlockPublicAccessState.html
    public func getImageBlockPublicAccessState() throws -> GetImageBlockPublicAccessStateResult {
        try call("GetImageBlockPublicAccessState") { try GetImageBlockPublicAccessStateResult(xml: $0) }
    }
}
