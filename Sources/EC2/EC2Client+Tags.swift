import AWSCore

extension EC2Client {
    /// `CreateTags`: adds or overwrites tags on resources (instances, images, snapshots, volumes, …).
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateTags.html
    public func createTags(resourceIDs: [String], tags: [Tag]) throws {
        var parameters = QueryParameters()
        parameters.add(list: "ResourceId", resourceIDs)
        parameters.add(list: "Tag", tags)
        try callReturningBool("CreateTags", parameters)
    }

    /// `DescribeTags`: the tags matching these filters (`resource-id`, `resource-type`, `key`, `value`);
    /// every page.
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeTags.html
    public func describeTags(filters: [Filter] = [], maxResults: Int? = nil) throws -> [TagDescription] {
        var parameters = QueryParameters()
        parameters.add(list: "Filter", filters)
        parameters.add("MaxResults", maxResults)
        return try paginate("DescribeTags", parameters) { try $0.list("tagSet") }
    }
}
