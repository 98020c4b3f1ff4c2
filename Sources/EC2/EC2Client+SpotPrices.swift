import AWSCore
import Foundation

/// A spot price of an instance type in a zone at a time (`SpotPrice`).
public struct SpotPrice: Sendable, Hashable, XMLDecodable {
    /// The Availability Zone.
    public var availabilityZone: String?
    /// The instance type.
    public var instanceType: String?
    /// The product (`Linux/UNIX`, `Linux/UNIX (Amazon VPC)`, `Windows`, …).
    public var productDescription: String?
    /// The hourly price in USD, as AWS writes it (`"0.031200"`).
    public var spotPrice: String
    /// When the price took effect.
    public var timestamp: Date?

    /// Creates a spot price.
    public init(availabilityZone: String?, instanceType: String?, productDescription: String?, spotPrice: String,
                timestamp: Date?) {
        self.availabilityZone = availabilityZone
        self.instanceType = instanceType
        self.productDescription = productDescription
        self.spotPrice = spotPrice
        self.timestamp = timestamp
    }

    /// The price as a number, for comparisons.
    public var price: Double? { Double(spotPrice) }

    init(xml: XMLNode) throws {
        self.init(availabilityZone: xml.optional("availabilityZone"), instanceType: xml.optional("instanceType"),
                  productDescription: xml.optional("productDescription"), spotPrice: try xml.required("spotPrice"),
                  timestamp: xml.date("timestamp"))
    }
}

/// The input of `DescribeSpotPriceHistory`.
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSpotPriceHistory.html
public struct DescribeSpotPriceHistoryRequest: Sendable, Hashable {
    /// The instance types.
    public var instanceTypes: [String]
    /// The products (`Linux/UNIX`, …).
    public var productDescriptions: [String]
    /// The start of the period (a start equal to the end time asks for the current prices).
    public var startTime: Date?
    /// The end of the period.
    public var endTime: Date?
    /// One Availability Zone.
    public var availabilityZone: String?
    /// Further filters.
    public var filters: [Filter]
    /// The page size (1–1000).
    public var maxResults: Int?

    /// Creates the input of `DescribeSpotPriceHistory`.
    public init(instanceTypes: [String] = [], productDescriptions: [String] = [], startTime: Date? = nil,
                endTime: Date? = nil, availabilityZone: String? = nil, filters: [Filter] = [], maxResults: Int? = nil) {
        self.instanceTypes = instanceTypes
        self.productDescriptions = productDescriptions
        self.startTime = startTime
        self.endTime = endTime
        self.availabilityZone = availabilityZone
        self.filters = filters
        self.maxResults = maxResults
    }

    /// The request's Query parameters.
    var parameters: QueryParameters {
        var parameters = QueryParameters()
        parameters.add(list: "InstanceType", instanceTypes)
        parameters.add(list: "ProductDescription", productDescriptions)
        parameters.add("StartTime", startTime)
        parameters.add("EndTime", endTime)
        parameters.add("AvailabilityZone", availabilityZone)
        parameters.add(list: "Filter", filters)
        parameters.add("MaxResults", maxResults)
        return parameters
    }
}

extension EC2Client {
    /// `DescribeSpotPriceHistory`: spot prices, every page.
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSpotPriceHistory.html
    public func describeSpotPriceHistory(_ request: DescribeSpotPriceHistoryRequest) throws -> [SpotPrice] {
        try paginate("DescribeSpotPriceHistory", request.parameters) { try $0.list("spotPriceHistorySet") }
    }
}
