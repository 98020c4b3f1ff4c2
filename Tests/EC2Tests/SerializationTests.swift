import AWSCore
import EC2
import Foundation
import KilnTestSupport
import Testing

/// What kiln puts on the wire, checked by a loopback server that records the form body, and answers
/// written from the API reference's response elements: for the operations moto does not implement
/// (EnableImageDeprecation, GetImageBlockPublicAccessState) and for the parameters moto ignores.
@Suite struct SerializationTests {
    /// An EC2 answer with `body` inside `<ActionResponse>`, as the API reference's samples show.
    static func answer(_ action: String, _ body: String) -> RecordingServer.Response {
        (200, """
        <?xml version="1.0" encoding="UTF-8"?>
        <\(action)Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
            <requestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</requestId>
            \(body)
        </\(action)Response>
        """)
    }

    /// A server that answers every action with `body` for it (or `<return>true</return>`).
    static func server(_ bodies: [String: String] = [:]) throws -> RecordingServer {
        try RecordingServer { request in
            let action = request["Action"] ?? "Unknown"
            return answer(action, bodies[action] ?? "<return>true</return>")
        }
    }

    @Test func enableImageDeprecation() throws {
        let server = try Self.server()
        let ec2 = try makeClient(endpoint: server.url)
        // 2030-06-15T13:17:42.9Z: seconds are sent whole, fractions dropped.
        let deprecateAt = Date(timeIntervalSince1970: 1_907_759_862.9)
        #expect(try ec2.enableImageDeprecation(imageID: "ami-0123456789abcdef0", deprecateAt: deprecateAt))
        let request = try #require(server.requests.first)
        #expect(request.method == "POST")
        #expect(request.headers["content-type"]?.hasPrefix("application/x-www-form-urlencoded") == true)
        #expect(request.headers["authorization"]?.hasPrefix("AWS4-HMAC-SHA256 Credential=\(MotoServer.accessKeyID)/") == true)
        #expect(request.headers["authorization"]?.contains("/us-east-1/ec2/aws4_request") == true)
        #expect(request.parameters == ["Action": "EnableImageDeprecation", "Version": "2016-11-15",
                                       "ImageId": "ami-0123456789abcdef0", "DeprecateAt": "2030-06-15T13:17:42Z"])

        let refused = try RecordingServer { _ in (200, "<EnableImageDeprecationResponse><return>false</return></EnableImageDeprecationResponse>") }
        #expect(try makeClient(endpoint: refused.url).enableImageDeprecation(imageID: "ami-1", deprecateAt: deprecateAt) == false)
    }

    @Test(arguments: [
        // The response elements the reference lists.
        ("<imageBlockPublicAccessState>block-new-sharing</imageBlockPublicAccessState><managedBy>account</managedBy>",
         GetImageBlockPublicAccessStateResult(imageBlockPublicAccessState: "block-new-sharing", managedBy: "account")),
        ("<imageBlockPublicAccessState>unblocked</imageBlockPublicAccessState><managedBy>declarative-policy</managedBy>",
         GetImageBlockPublicAccessStateResult(imageBlockPublicAccessState: "unblocked", managedBy: "declarative-policy")),
        // The reference's sample response, which carries the state in <return>.
        ("<return>block-new-sharing</return>",
         GetImageBlockPublicAccessStateResult(imageBlockPublicAccessState: "block-new-sharing")),
    ])
    func getImageBlockPublicAccessState(body: String, expected: GetImageBlockPublicAccessStateResult) throws {
        let server = try Self.server(["GetImageBlockPublicAccessState": body])
        let result = try makeClient(endpoint: server.url).getImageBlockPublicAccessState()
        #expect(result == expected)
        #expect(result.blocksPublicSharing == (expected.imageBlockPublicAccessState == "block-new-sharing"))
        #expect(server.requests.first?.parameters == ["Action": "GetImageBlockPublicAccessState", "Version": "2016-11-15"])
    }

    @Test func getImageBlockPublicAccessStateWithoutStateIsInvalidResponse() throws {
        let server = try Self.server(["GetImageBlockPublicAccessState": ""])
        let error = awsError { try makeClient(endpoint: server.url).getImageBlockPublicAccessState() }
        #expect(error?.code == "InvalidResponse")
        #expect(error?.operation == "GetImageBlockPublicAccessState")
        #expect(error?.message.contains("imageBlockPublicAccessState") == true)
    }

    @Test func runInstancesParameters() throws {
        let server = try Self.server(["RunInstances": """
            <reservationId>r-1234567890abcdef0</reservationId><ownerId>123456789012</ownerId>
            <instancesSet><item><instanceId>i-1234567890abcdef0</instanceId><imageId>ami-1</imageId>
            <instanceState><code>0</code><name>pending</name></instanceState><instanceType>c6i.large</instanceType>
            <clientToken>kiln-b-1</clientToken><instanceLifecycle>spot</instanceLifecycle>
            <launchTime>2025-01-02T03:04:05.000Z</launchTime><tagSet/></item></instancesSet>
            """])
        let ec2 = try makeClient(endpoint: server.url)
        let reservation = try ec2.runInstances(RunInstancesRequest(
            imageID: "ami-1", instanceType: "c6i.large", clientToken: "kiln-b-1", userData: Array("#!/bin/bash\n".utf8),
            securityGroupIDs: ["sg-1", "sg-2"], subnetID: "subnet-1",
            blockDeviceMappings: [.encryptedGP3(deviceName: "/dev/xvda", volumeSize: 40),
                                  BlockDeviceMapping(deviceName: "/dev/sdb", noDevice: true)],
            instanceInitiatedShutdownBehavior: .terminate,
            instanceMarketOptions: .oneTimeSpot(maxPrice: "0.05"),
            iamInstanceProfile: IamInstanceProfileSpecification(name: "kiln-build"),
            tagSpecifications: [
                TagSpecification(resourceType: .instance, tags: [Tag(key: "Name", value: "kiln build"), Tag(key: "kiln:build", value: "b-1")]),
                TagSpecification(resourceType: .volume, tags: [Tag(key: "kiln:build", value: "b-1")]),
            ]))
        #expect(reservation.reservationID == "r-1234567890abcdef0")
        let instance = try #require(reservation.instances.first)
        #expect(instance.instanceID == "i-1234567890abcdef0")
        #expect(instance.state == InstanceState(code: 0, name: .pending))
        #expect(instance.launchTime == Date(timeIntervalSince1970: 1_735_787_045))

        let request = try #require(server.requests.first)
        #expect(request.parameters == [
            "Action": "RunInstances", "Version": "2016-11-15",
            "ImageId": "ami-1", "InstanceType": "c6i.large", "MinCount": "1", "MaxCount": "1",
            "ClientToken": "kiln-b-1", "UserData": "IyEvYmluL2Jhc2gK",
            "SecurityGroupId.1": "sg-1", "SecurityGroupId.2": "sg-2", "SubnetId": "subnet-1",
            "BlockDeviceMapping.1.DeviceName": "/dev/xvda",
            "BlockDeviceMapping.1.Ebs.DeleteOnTermination": "true", "BlockDeviceMapping.1.Ebs.Encrypted": "true",
            "BlockDeviceMapping.1.Ebs.VolumeSize": "40", "BlockDeviceMapping.1.Ebs.VolumeType": "gp3",
            "BlockDeviceMapping.2.DeviceName": "/dev/sdb", "BlockDeviceMapping.2.NoDevice": "",
            "InstanceInitiatedShutdownBehavior": "terminate",
            "MetadataOptions.HttpTokens": "required", "MetadataOptions.HttpEndpoint": "enabled",
            "InstanceMarketOptions.MarketType": "spot", "InstanceMarketOptions.SpotOptions.MaxPrice": "0.05",
            "InstanceMarketOptions.SpotOptions.SpotInstanceType": "one-time",
            "InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior": "terminate",
            "IamInstanceProfile.Name": "kiln-build",
            "TagSpecification.1.ResourceType": "instance",
            "TagSpecification.1.Tag.1.Key": "Name", "TagSpecification.1.Tag.1.Value": "kiln build",
            "TagSpecification.1.Tag.2.Key": "kiln:build", "TagSpecification.1.Tag.2.Value": "b-1",
            "TagSpecification.2.ResourceType": "volume",
            "TagSpecification.2.Tag.1.Key": "kiln:build", "TagSpecification.2.Tag.1.Value": "b-1",
        ])
        #expect(request["KeyName"] == nil)
    }

    @Test func imageParameters() throws {
        let server = try Self.server([
            "CreateImage": "<imageId>ami-0aaaaaaaaaaaaaaaa</imageId>",
            "CopyImage": "<imageId>ami-0bbbbbbbbbbbbbbbb</imageId>",
            "DescribeImageAttribute": """
                <imageId>ami-1</imageId><launchPermission><item><group>all</group></item>
                <item><userId>111122223333</userId></item>
                <item><organizationArn>arn:aws:organizations::123456789012:organization/o-1</organizationArn></item>
                <item><organizationalUnitArn>arn:aws:organizations::123456789012:ou/o-1/ou-1</organizationalUnitArn></item>
                </launchPermission>
                """,
        ])
        let ec2 = try makeClient(endpoint: server.url)
        let imageTags = [Tag(key: "kiln:recipe", value: "jupyter")]
        #expect(try ec2.createImage(CreateImageRequest(
            instanceID: "i-1", name: "kiln-jupyter-1.0", description: "Jupyter", noReboot: false,
            blockDeviceMappings: [.encryptedGP3(deviceName: "/dev/xvda", volumeSize: 16)],
            tagSpecifications: [TagSpecification(resourceType: .image, tags: imageTags),
                                TagSpecification(resourceType: .snapshot, tags: imageTags)])) == "ami-0aaaaaaaaaaaaaaaa")
        #expect(try ec2.copyImage(CopyImageRequest(
            sourceImageID: "ami-0aaaaaaaaaaaaaaaa", sourceRegion: "us-east-1", name: "kiln-jupyter-1.0",
            clientToken: "kiln-copy-eu-west-1", encrypted: true, kmsKeyID: "alias/kiln", copyImageTags: true,
            tagSpecifications: [TagSpecification(resourceType: .image, tags: imageTags)])) == "ami-0bbbbbbbbbbbbbbbb")
        try ec2.modifyImageAttribute(imageID: "ami-1", launchPermission: LaunchPermissionModifications(
            add: [.all, .account("111122223333"),
                  .organization("arn:aws:organizations::123456789012:organization/o-1"),
                  .organizationalUnit("arn:aws:organizations::123456789012:ou/o-1/ou-1")],
            remove: [.account("444455556666")]))
        let attribute = try ec2.describeImageAttribute(imageID: "ami-1", attribute: .launchPermission)
        #expect(attribute.launchPermissions == [
            .all, .account("111122223333"), .organization("arn:aws:organizations::123456789012:organization/o-1"),
            .organizationalUnit("arn:aws:organizations::123456789012:ou/o-1/ou-1"),
        ])
        try ec2.deregisterImage(imageID: "ami-1")
        try ec2.deleteSnapshot(snapshotID: "snap-1")

        let requests = server.requests.map(\.parameters)
        #expect(requests.count == 6)
        guard requests.count == 6 else { return }
        #expect(requests[0] == [
            "Action": "CreateImage", "Version": "2016-11-15", "InstanceId": "i-1", "Name": "kiln-jupyter-1.0",
            "Description": "Jupyter", "NoReboot": "false",
            "BlockDeviceMapping.1.DeviceName": "/dev/xvda", "BlockDeviceMapping.1.Ebs.DeleteOnTermination": "true",
            "BlockDeviceMapping.1.Ebs.Encrypted": "true", "BlockDeviceMapping.1.Ebs.VolumeSize": "16",
            "BlockDeviceMapping.1.Ebs.VolumeType": "gp3",
            "TagSpecification.1.ResourceType": "image",
            "TagSpecification.1.Tag.1.Key": "kiln:recipe", "TagSpecification.1.Tag.1.Value": "jupyter",
            "TagSpecification.2.ResourceType": "snapshot",
            "TagSpecification.2.Tag.1.Key": "kiln:recipe", "TagSpecification.2.Tag.1.Value": "jupyter",
        ])
        #expect(requests[1] == [
            "Action": "CopyImage", "Version": "2016-11-15", "SourceImageId": "ami-0aaaaaaaaaaaaaaaa",
            "SourceRegion": "us-east-1", "Name": "kiln-jupyter-1.0", "ClientToken": "kiln-copy-eu-west-1",
            "Encrypted": "true", "KmsKeyId": "alias/kiln", "CopyImageTags": "true",
            "TagSpecification.1.ResourceType": "image",
            "TagSpecification.1.Tag.1.Key": "kiln:recipe", "TagSpecification.1.Tag.1.Value": "jupyter",
        ])
        #expect(requests[2] == [
            "Action": "ModifyImageAttribute", "Version": "2016-11-15", "ImageId": "ami-1",
            "LaunchPermission.Add.1.Group": "all", "LaunchPermission.Add.2.UserId": "111122223333",
            "LaunchPermission.Add.3.OrganizationArn": "arn:aws:organizations::123456789012:organization/o-1",
            "LaunchPermission.Add.4.OrganizationalUnitArn": "arn:aws:organizations::123456789012:ou/o-1/ou-1",
            "LaunchPermission.Remove.1.UserId": "444455556666",
        ])
        #expect(requests[3] == ["Action": "DescribeImageAttribute", "Version": "2016-11-15", "ImageId": "ami-1",
                                "Attribute": "launchPermission"])
        #expect(requests[4] == ["Action": "DeregisterImage", "Version": "2016-11-15", "ImageId": "ami-1"])
        #expect(requests[5] == ["Action": "DeleteSnapshot", "Version": "2016-11-15", "SnapshotId": "snap-1"])
    }

    @Test func describeParametersAndPagination() throws {
        // Two pages: the first names a next token, the second does not.
        let server = try RecordingServer { request in
            let page = request["NextToken"] == nil
                ? "<reservationSet><item><instancesSet><item><instanceId>i-1</instanceId><instanceState><code>16</code><name>running</name></instanceState></item></instancesSet></item></reservationSet><nextToken>page-2</nextToken>"
                : "<reservationSet><item><instancesSet><item><instanceId>i-2</instanceId><instanceState><code>272</code><name>running</name></instanceState></item></instancesSet></item></reservationSet><nextToken/>"
            return Self.answer("DescribeInstances", page)
        }
        let ec2 = try makeClient(endpoint: server.url)
        let instances = try ec2.describeInstances(
            filters: [.tag("kiln:build", "b-1"), Filter("instance-state-name", "pending", "running")], maxResults: 5)
        #expect(instances.map(\.instanceID) == ["i-1", "i-2"])
        #expect(instances.map(\.state.code) == [16, 16])  // the high byte of 272 is AWS-internal
        let requests = server.requests.map(\.parameters)
        let filters = ["Action": "DescribeInstances", "Version": "2016-11-15",
                       "Filter.1.Name": "tag:kiln:build", "Filter.1.Value.1": "b-1",
                       "Filter.2.Name": "instance-state-name", "Filter.2.Value.1": "pending",
                       "Filter.2.Value.2": "running", "MaxResults": "5"]
        #expect(requests == [filters, filters.merging(["NextToken": "page-2"]) { $1 }])

        // Instance IDs and MaxResults may not be combined: MaxResults is left out.
        _ = try ec2.describeInstances(instanceIDs: ["i-1", "i-2"], maxResults: 5)
        let byID = server.requests.dropFirst(2).first?.parameters
        #expect(byID == ["Action": "DescribeInstances", "Version": "2016-11-15", "InstanceId.1": "i-1", "InstanceId.2": "i-2"])
    }

    @Test func otherDescribeParameters() throws {
        let server = try Self.server([
            "GetConsoleOutput": "<instanceId>i-1</instanceId><timestamp>2025-01-02T03:04:05.000Z</timestamp><output>S0lMTg==</output>",
            "DescribeInstanceAttribute": "<instanceId>i-1</instanceId><userData/>",
            "CreateSecurityGroup": "<return>true</return><groupId>sg-1</groupId><tagSet><item><key>kiln</key><value>1</value></item></tagSet>",
        ])
        let ec2 = try makeClient(endpoint: server.url)
        _ = try ec2.describeImages(owners: ["self", "amazon"], filters: [Filter("name", "kiln-*")], includeDeprecated: true)
        _ = try ec2.describeSnapshots(ownerIDs: ["self"], filters: [.tag("kiln:build", "b-1")], maxResults: 100)
        _ = try ec2.describeTags(filters: [Filter("resource-type", "snapshot")])
        try ec2.createTags(resourceIDs: ["ami-1", "snap-1"], tags: [Tag(key: "kiln", value: "")])
        _ = try ec2.describeSpotPriceHistory(DescribeSpotPriceHistoryRequest(
            instanceTypes: ["c6i.large", "m6i.large"], productDescriptions: ["Linux/UNIX"],
            startTime: Date(timeIntervalSince1970: 1_735_787_045), availabilityZone: "us-east-1a"))
        #expect(try ec2.getConsoleOutput(instanceID: "i-1", latest: true).output == "KILN")
        #expect(try ec2.describeInstanceAttribute(instanceID: "i-1", attribute: .userData).userData == nil)
        _ = try ec2.stopInstances(instanceIDs: ["i-1"])
        _ = try ec2.terminateInstances(instanceIDs: ["i-1"])
        _ = try ec2.describeVpcs(filters: [Filter("isDefault", "true")])
        _ = try ec2.describeSubnets(filters: [Filter("vpc-id", "vpc-1")])
        _ = try ec2.describeSecurityGroups(groupIDs: ["sg-1"])
        let group = try ec2.createSecurityGroup(groupName: "kiln", description: "kiln build", vpcID: "vpc-1",
            tagSpecifications: [TagSpecification(resourceType: .securityGroup, tags: [Tag(key: "kiln", value: "1")])])
        #expect(group == CreateSecurityGroupResult(groupID: "sg-1", tags: [Tag(key: "kiln", value: "1")]))
        try ec2.deleteSecurityGroup(groupID: "sg-1")
        let rule = IpPermission(ipProtocol: "tcp", fromPort: 443, toPort: 443,
                                ipRanges: [IpRange(cidrIP: "0.0.0.0/0", description: "https")],
                                ipv6Ranges: [Ipv6Range(cidrIPv6: "::/0")],
                                userIDGroupPairs: [UserIdGroupPair(groupID: "sg-2")])
        try ec2.authorizeSecurityGroupEgress(groupID: "sg-1", ipPermissions: [rule])
        try ec2.revokeSecurityGroupEgress(groupID: "sg-1", ipPermissions: [.allIPv4Traffic])

        let expected: [[String: String]] = [
            ["Action": "DescribeImages", "Owner.1": "self", "Owner.2": "amazon", "Filter.1.Name": "name",
             "Filter.1.Value.1": "kiln-*", "IncludeDeprecated": "true"],
            ["Action": "DescribeSnapshots", "Owner.1": "self", "Filter.1.Name": "tag:kiln:build",
             "Filter.1.Value.1": "b-1", "MaxResults": "100"],
            ["Action": "DescribeTags", "Filter.1.Name": "resource-type", "Filter.1.Value.1": "snapshot"],
            ["Action": "CreateTags", "ResourceId.1": "ami-1", "ResourceId.2": "snap-1", "Tag.1.Key": "kiln",
             "Tag.1.Value": ""],
            ["Action": "DescribeSpotPriceHistory", "InstanceType.1": "c6i.large", "InstanceType.2": "m6i.large",
             "ProductDescription.1": "Linux/UNIX", "StartTime": "2025-01-02T03:04:05Z",
             "AvailabilityZone": "us-east-1a"],
            ["Action": "GetConsoleOutput", "InstanceId": "i-1", "Latest": "true"],
            ["Action": "DescribeInstanceAttribute", "InstanceId": "i-1", "Attribute": "userData"],
            ["Action": "StopInstances", "InstanceId.1": "i-1"],
            ["Action": "TerminateInstances", "InstanceId.1": "i-1"],
            ["Action": "DescribeVpcs", "Filter.1.Name": "isDefault", "Filter.1.Value.1": "true"],
            ["Action": "DescribeSubnets", "Filter.1.Name": "vpc-id", "Filter.1.Value.1": "vpc-1"],
            ["Action": "DescribeSecurityGroups", "GroupId.1": "sg-1"],
            ["Action": "CreateSecurityGroup", "GroupName": "kiln", "GroupDescription": "kiln build", "VpcId": "vpc-1",
             "TagSpecification.1.ResourceType": "security-group", "TagSpecification.1.Tag.1.Key": "kiln",
             "TagSpecification.1.Tag.1.Value": "1"],
            ["Action": "DeleteSecurityGroup", "GroupId": "sg-1"],
            ["Action": "AuthorizeSecurityGroupEgress", "GroupId": "sg-1", "IpPermissions.1.IpProtocol": "tcp",
             "IpPermissions.1.FromPort": "443", "IpPermissions.1.ToPort": "443",
             "IpPermissions.1.IpRanges.1.CidrIp": "0.0.0.0/0", "IpPermissions.1.IpRanges.1.Description": "https",
             "IpPermissions.1.Ipv6Ranges.1.CidrIpv6": "::/0", "IpPermissions.1.Groups.1.GroupId": "sg-2"],
            ["Action": "RevokeSecurityGroupEgress", "GroupId": "sg-1", "IpPermissions.1.IpProtocol": "-1",
             "IpPermissions.1.IpRanges.1.CidrIp": "0.0.0.0/0"],
        ]
        let requests = server.requests.map(\.parameters)
        #expect(requests.count == expected.count)
        for (request, parameters) in zip(requests, expected) {
            #expect(request == parameters.merging(["Version": "2016-11-15"]) { $1 })
        }
    }

    @Test func documentedErrorResponse() throws {
        // The shape of https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
        let server = try RecordingServer { _ in
            (400, """
            <?xml version="1.0" encoding="UTF-8"?>
            <Response><Errors><Error><Code>InvalidAMIID.Unavailable</Code>
            <Message>The image ID 'ami-1' is no longer available</Message></Error></Errors>
            <RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>
            """)
        }
        let error = try #require(awsError {
            try makeClient(endpoint: server.url).enableImageDeprecation(imageID: "ami-1", deprecateAt: Date())
        })
        #expect(error.code == "InvalidAMIID.Unavailable")
        #expect(error.message == "The image ID 'ami-1' is no longer available")
        #expect(error.operation == "EnableImageDeprecation")
        #expect(error.status == 400)
        #expect(error.requestID == "ea966190-f9aa-478e-9ede-example")
    }

    @Test func answersMissingRequiredElementsAreInvalidResponses() throws {
        let server = try Self.server([
            "RunInstances": "<instancesSet><item><imageId>ami-1</imageId></item></instancesSet>",
            "DescribeInstanceAttribute": "<instanceId>i-1</instanceId><userData><value>%%%not base64</value></userData>",
        ])
        let ec2 = try makeClient(endpoint: server.url)
        let missing = awsError { try ec2.runInstances(RunInstancesRequest(imageID: "ami-1", instanceType: "t3.micro")) }
        #expect(missing?.code == "InvalidResponse")
        #expect(missing?.operation == "RunInstances")
        #expect(missing?.message == "the answer has no <instanceState> in <item>")
        let invalid = awsError { try ec2.describeInstanceAttribute(instanceID: "i-1", attribute: .userData) }
        #expect(invalid?.code == "InvalidResponse")
        #expect(invalid?.message.contains("userData") == true)
    }
}
