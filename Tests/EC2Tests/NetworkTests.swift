import AWSCore
import EC2
import Foundation
import KilnTestSupport
import Testing

/// The default VPC, its subnets, a build security group with no inbound rule, and spot prices,
/// against moto.
@Suite struct NetworkTests {
    @Test func defaultVPCAndItsSubnets() throws {
        let moto = try MotoServer()
        let ec2 = try makeClient(endpoint: moto.url)
        let vpcs = try ec2.describeVpcs(filters: [Filter("isDefault", "true")])
        #expect(vpcs.count == 1)
        let vpc = try #require(vpcs.first)
        #expect(vpc.isDefault)
        #expect(vpc.vpcID.hasPrefix("vpc-"))
        #expect(vpc.cidrBlock == "172.31.0.0/16")
        #expect(vpc.state == "available")
        #expect(try ec2.describeVpcs(vpcIDs: [vpc.vpcID]) == vpcs)

        let subnets = try ec2.describeSubnets(filters: [Filter("vpc-id", vpc.vpcID), Filter("default-for-az", "true")])
        #expect(!subnets.isEmpty)
        for subnet in subnets {
            #expect(subnet.vpcID == vpc.vpcID)
            #expect(subnet.defaultForAz == true)
            #expect(subnet.availabilityZone?.hasPrefix("us-east-1") == true)
            #expect((subnet.availableIpAddressCount ?? 0) > 0)
        }
        let first = try #require(subnets.first)
        #expect(try ec2.describeSubnets(subnetIDs: [first.subnetID]) == [first])
    }

    @Test func buildSecurityGroupHasNoInboundRule() throws {
        let moto = try MotoServer()
        let ec2 = try makeClient(endpoint: moto.url)
        let vpc = try #require(try ec2.describeVpcs(filters: [Filter("isDefault", "true")]).first)
        let created = try ec2.createSecurityGroup(
            groupName: "kiln-build-b-7", description: "kiln build b-7: no inbound, HTTPS out", vpcID: vpc.vpcID,
            tagSpecifications: [TagSpecification(resourceType: .securityGroup, tags: [Tag(key: "kiln:build", value: "b-7")])])
        #expect(created.groupID.hasPrefix("sg-"))

        let group = try #require(try ec2.describeSecurityGroups(groupIDs: [created.groupID]).first)
        #expect(group.groupName == "kiln-build-b-7")
        #expect(group.description == "kiln build b-7: no inbound, HTTPS out")
        #expect(group.vpcID == vpc.vpcID)
        #expect(group.ipPermissions.isEmpty)
        #expect(group.ipPermissionsEgress == [.allIPv4Traffic])
        #expect(group.tags == [Tag(key: "kiln:build", value: "b-7")])
        #expect(try ec2.describeSecurityGroups(filters: [.tag("kiln:build", "b-7")]).map(\.groupID) == [created.groupID])

        // Replace "all traffic out" by HTTPS out only.
        #expect(try ec2.revokeSecurityGroupEgress(groupID: created.groupID, ipPermissions: [.allIPv4Traffic]))
        #expect(try ec2.describeSecurityGroups(groupIDs: [created.groupID]).first?.ipPermissionsEgress == [])
        let https = IpPermission.tcp(port: 443, ipv4: ["0.0.0.0/0"], ipv6: ["::/0"], description: "https")
        #expect(try ec2.authorizeSecurityGroupEgress(groupID: created.groupID, ipPermissions: [https]))
        let egress = try #require(try ec2.describeSecurityGroups(groupIDs: [created.groupID]).first?.ipPermissionsEgress)
        #expect(egress.count == 1)
        #expect(egress.first?.ipProtocol == "tcp")
        #expect(egress.first?.fromPort == 443)
        #expect(egress.first?.toPort == 443)
        #expect(egress.first?.ipRanges == [IpRange(cidrIP: "0.0.0.0/0", description: "https")])
        #expect(egress.first?.ipv6Ranges.map(\.cidrIPv6) == ["::/0"])

        try ec2.deleteSecurityGroup(groupID: created.groupID)
        let gone = awsError { try ec2.describeSecurityGroups(groupIDs: [created.groupID]) }
        #expect(gone?.code == "InvalidGroup.NotFound")
        #expect(gone?.status == 400)
    }

    @Test func spotPriceHistory() throws {
        let moto = try MotoServer()
        let ec2 = try makeClient(endpoint: moto.url)
        let prices = try ec2.describeSpotPriceHistory(DescribeSpotPriceHistoryRequest(
            instanceTypes: ["t3.micro"], productDescriptions: ["Linux/UNIX"],
            startTime: Date(timeIntervalSinceNow: -3600)))
        #expect(!prices.isEmpty)
        for price in prices {
            #expect(price.instanceType == "t3.micro")
            #expect(price.availabilityZone?.hasPrefix("us-east-1") == true)
            #expect((price.price ?? 0) > 0)
            #expect(price.timestamp != nil)
        }
        // moto has no prices for an unknown type.
        #expect(try ec2.describeSpotPriceHistory(DescribeSpotPriceHistoryRequest(instanceTypes: ["x9.nothing"])).isEmpty)
    }
}
