import AWSCore
import EC2
import Foundation
import KilnTestSupport
import Testing

/// AMIs and snapshots against moto: create, describe, share, copy to another region, deregister and
/// delete, leaving nothing behind.
@Suite struct ImagesTests {
    @Test func defaultImagesAreFoundByOwnerAndFilter() throws {
        let moto = try MotoServer()
        let ec2 = try makeClient(endpoint: moto.url)
        let images = try ec2.describeImages(owners: ["amazon"], filters: [Filter("name", "amzn2-ami-hvm-*")])
        #expect(!images.isEmpty)
        for image in images {
            #expect(image.imageID.hasPrefix("ami-"))
            #expect(image.name?.hasPrefix("amzn2-ami-hvm-") == true)
            #expect(image.ownerAlias == "amazon")
            #expect(image.state == .available)
            #expect(image.creationDate != nil)
            #expect(!image.snapshotIDs.isEmpty)
        }
        let first = try #require(images.first)
        let byID = try ec2.describeImages(imageIDs: [first.imageID])
        #expect(byID == [first])
    }

    @Test func createShareCopyAndDeleteAnImage() throws {
        let moto = try MotoServer()
        let ec2 = try makeClient(endpoint: moto.url)
        let base = try motoDefaultImage(ec2)
        let instance = try #require(try ec2.runInstances(
            RunInstancesRequest(imageID: base.imageID, instanceType: "t3.micro")).instances.first)

        // moto refuses a "snapshot" tag specification (NotImplementedError, HTTP 500), so the
        // snapshot is tagged afterwards with CreateTags; the serialization of both is checked in
        // SerializationTests.
        let imageID = try ec2.createImage(CreateImageRequest(
            instanceID: instance.instanceID, name: "kiln-jupyter-1.0", description: "kiln test image", noReboot: true,
            tagSpecifications: [TagSpecification(resourceType: .image, tags: [Tag(key: "kiln:recipe", value: "jupyter")])]))
        #expect(imageID.hasPrefix("ami-"))

        let image = try ec2.waitForImageAvailable(imageID, waiter: Waiter(initialDelay: 0.05, timeout: 10))
        #expect(image.name == "kiln-jupyter-1.0")
        #expect(image.description == "kiln test image")
        #expect(image.tags == [Tag(key: "kiln:recipe", value: "jupyter")])
        #expect(image.ownerID == "123456789012")
        #expect(image.isPublic == false)
        #expect(image.sourceInstanceID == instance.instanceID)
        let snapshotID = try #require(image.snapshotIDs.first)
        #expect(try ec2.describeImages(owners: ["self"], filters: [.tag("kiln:recipe", "jupyter")]).map(\.imageID) == [imageID])

        try ec2.createTags(resourceIDs: [snapshotID], tags: [Tag(key: "kiln:recipe", value: "jupyter")])
        let snapshots = try ec2.describeSnapshots(ownerIDs: ["self"], filters: [.tag("kiln:recipe", "jupyter")])
        #expect(snapshots.map(\.snapshotID) == [snapshotID])
        #expect(snapshots.first?.state == "completed")
        #expect(snapshots.first?.tags == [Tag(key: "kiln:recipe", value: "jupyter")])
        let tags = try ec2.describeTags(filters: [Filter("key", "kiln:recipe")])
        #expect(Set(tags.map(\.resourceID)) == [imageID, snapshotID])
        #expect(Set(tags.map(\.resourceType)) == [.image, .snapshot])

        // Public, plus an account, an organization and an organizational unit.
        let organization = "arn:aws:organizations::123456789012:organization/o-abcdefghij"
        let unit = "arn:aws:organizations::123456789012:ou/o-abcdefghij/ou-ab12-cdefgh34"
        try ec2.modifyImageAttribute(imageID: imageID, launchPermission: LaunchPermissionModifications(
            add: [.all, .account("111122223333"), .organization(organization), .organizationalUnit(unit)]))
        let shared = try ec2.describeImageAttribute(imageID: imageID, attribute: .launchPermission)
        #expect(shared.imageID == imageID)
        #expect(Set(shared.launchPermissions) == [.all, .account("111122223333"), .organization(organization),
                                                 .organizationalUnit(unit)])
        #expect(try ec2.describeImages(imageIDs: [imageID]).first?.isPublic == true)
        try ec2.modifyImageAttribute(imageID: imageID, launchPermission: LaunchPermissionModifications(remove: [.all]))
        let unshared = try ec2.describeImageAttribute(imageID: imageID, attribute: .launchPermission)
        #expect(!unshared.launchPermissions.contains(.all))
        #expect(unshared.launchPermissions.contains(.account("111122223333")))

        // Copy into us-west-2, on a client of the destination region.
        let west = try ec2.inRegion("us-west-2")
        #expect(west.region == "us-west-2")
        let copyID = try west.copyImage(CopyImageRequest(
            sourceImageID: imageID, sourceRegion: "us-east-1", name: "kiln-jupyter-1.0", clientToken: "kiln-copy-1",
            encrypted: true, copyImageTags: true))
        let copy = try west.waitForImageAvailable(copyID, waiter: Waiter(initialDelay: 0.05, timeout: 10))
        #expect(copy.name == "kiln-jupyter-1.0")
        #expect(copy.imageID != imageID)
        #expect(try ec2.describeImages(owners: ["self"], filters: [Filter("image-id", copyID)]).isEmpty)

        // While the image is registered its snapshot cannot go.
        let inUse = awsError { try ec2.deleteSnapshot(snapshotID: snapshotID) }
        #expect(inUse?.code == "InvalidSnapshot.InUse")
        #expect(inUse?.operation == "DeleteSnapshot")

        try ec2.deregisterImage(imageID: imageID)
        try ec2.deleteSnapshot(snapshotID: snapshotID)
        #expect(try ec2.describeImages(imageIDs: [imageID]).isEmpty)
        #expect(try ec2.describeImages(owners: ["self"], filters: [.tag("kiln:recipe", "jupyter")]).isEmpty)
        #expect(try ec2.describeSnapshots(ownerIDs: ["self"], filters: [.tag("kiln:recipe", "jupyter")]).isEmpty)
        #expect(awsError { try ec2.describeSnapshots(snapshotIDs: [snapshotID]) }?.code == "InvalidSnapshot.NotFound")
        let leftoverTags = try ec2.describeTags(filters: [Filter("key", "kiln:recipe")])
        withKnownIssue("moto keeps the tags of deregistered images and deleted snapshots; AWS drops them") {
            #expect(leftoverTags.isEmpty)
        }

        // The copy is independent of the source.
        try west.deregisterImage(imageID: copyID)
        for snapshot in copy.snapshotIDs { try west.deleteSnapshot(snapshotID: snapshot) }
        #expect(try west.describeImages(imageIDs: [copyID]).isEmpty)
    }

    @Test func unknownImageIsAnAWSError() throws {
        let moto = try MotoServer()
        let ec2 = try makeClient(endpoint: moto.url)
        let error = try #require(awsError { try ec2.describeImages(imageIDs: ["ami-00000000000000000"]) })
        #expect(error.code == "InvalidAMIID.NotFound")
        #expect(error.operation == "DescribeImages")
        #expect(error.status == 400)
    }
}
