import AWSCore

extension EC2Client {
    /// `DescribeInstances`: the instances with these IDs and/or matching these filters, every page of
    /// them, flattened out of their reservations.
    ///
    /// `maxResults` (5–1000) sets the page size; the API forbids it together with instance IDs, so it
    /// is left out then. https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstances.html
    public func describeInstances(instanceIDs: [String] = [], filters: [Filter] = [],
                                  maxResults: Int? = nil) throws -> [Instance] {
        var parameters = QueryParameters()
        parameters.add(list: "InstanceId", instanceIDs)
        parameters.add(list: "Filter", filters)
        if instanceIDs.isEmpty { parameters.add("MaxResults", maxResults) }
        let reservations: [Reservation] = try paginate("DescribeInstances", parameters) { try $0.list("reservationSet") }
        return reservations.flatMap(\.instances)
    }

    /// `RunInstances`: launches one instance and returns its reservation.
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RunInstances.html
    public func runInstances(_ request: RunInstancesRequest) throws -> Reservation {
        try call("RunInstances", request.parameters) { try Reservation(xml: $0) }
    }

    /// `StopInstances`: stops instances (their EBS volumes stay).
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_StopInstances.html
    public func stopInstances(instanceIDs: [String], force: Bool? = nil) throws -> [InstanceStateChange] {
        var parameters = QueryParameters()
        parameters.add(list: "InstanceId", instanceIDs)
        parameters.add("Force", force)
        return try call("StopInstances", parameters) { try $0.list("instancesSet") }
    }

    /// `TerminateInstances`: terminates instances (terminating a terminated one succeeds).
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_TerminateInstances.html
    public func terminateInstances(instanceIDs: [String]) throws -> [InstanceStateChange] {
        var parameters = QueryParameters()
        parameters.add(list: "InstanceId", instanceIDs)
        return try call("TerminateInstances", parameters) { try $0.list("instancesSet") }
    }

    /// `DescribeInstanceAttribute`: one attribute of an instance (user-data comes back decoded).
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceAttribute.html
    public func describeInstanceAttribute(instanceID: String,
                                          attribute: InstanceAttributeName) throws -> InstanceAttribute {
        var parameters = QueryParameters()
        parameters.add("InstanceId", instanceID)
        parameters.add("Attribute", attribute.rawValue)
        return try call("DescribeInstanceAttribute", parameters) { try InstanceAttribute(xml: $0) }
    }

    /// `GetConsoleOutput`: the instance's serial console output, decoded. `latest` asks for the most
    /// recent output (Nitro instances only) instead of the buffer AWS keeps after the last boot.
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetConsoleOutput.html
    public func getConsoleOutput(instanceID: String, latest: Bool? = nil) throws -> GetConsoleOutputResult {
        var parameters = QueryParameters()
        parameters.add("InstanceId", instanceID)
        parameters.add("Latest", latest)
        return try call("GetConsoleOutput", parameters) { try GetConsoleOutputResult(xml: $0) }
    }
}
