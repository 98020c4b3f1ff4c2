import ArgumentParser
import Foundation
import AWSCore
import AWSCredentials
import STS

extension GlobalOptions {
    /// The AWS configuration these options and the environment describe: region (option, AWS_REGION,
    /// AWS_DEFAULT_REGION, the profile), credentials (the SDKs' chain, STS through kiln's own client),
    /// endpoint override (--endpoint-url, then AWS_ENDPOINT_URL[_SERVICE]).
    /// `region` overrides everything (an ECR registry's host names its region).
    func awsConfig(context: CommandContext, region forced: String? = nil) throws -> AWSConfig {
        let environment = context.environment
        let region: String
        do {
            region = try forced ?? RegionResolver.resolve(option: self.region, profile: profile, environment: environment)
        } catch {
            throw ValidationError("\(error)\nSet --region or AWS_REGION (e.g. us-east-1).")
        }
        let sts = STSCallerAdapter(environment: environment, endpointURL: endpointURL)
        let chain = CredentialChain(options: CredentialOptions(profile: profile, region: region),
                                    environment: environment, sts: sts)
        return AWSConfig(region: region, credentials: chain, environment: environment, endpointURL: endpointURL)
    }
}

/// A new build ID: the recipe, the UTC time, and a random suffix (`julia-20261121-203000-3fa9`).
func newBuildID(recipe: String, now: Date = Date()) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyyMMdd-HHmmss"
    let suffix = String(UInt16.random(in: 0...UInt16.max), radix: 16)
    return "\(recipe)-\(formatter.string(from: now))-\(suffix)"
}
