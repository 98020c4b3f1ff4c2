/// Finds the AWS region the way the SDKs do: the explicit option, AWS_REGION, AWS_DEFAULT_REGION, the
/// selected profile's `region` in the config file, and optionally the EC2 instance metadata service.
///
/// Spec: AWS SDKs and Tools Reference Guide, "AWS Region"
/// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-region.html).
public enum RegionResolver {
    /// The region; `profile` nil means AWS_PROFILE, else "default". `instanceMetadata`, when given, is asked
    /// last. Throws when the config file cannot be parsed or nothing names a region.
    public static func resolve(option: String?, profile: String?, environment: [String: String],
                               instanceMetadata: InstanceMetadataClient? = nil) throws -> String {
        if let region = option.nonEmpty { return region }
        if let region = environment["AWS_REGION"].nonEmpty { return region }
        if let region = environment["AWS_DEFAULT_REGION"].nonEmpty { return region }
        let config = try SharedConfig.load(environment: environment)
        let name = SharedConfig.selectedProfile(option: profile, environment: environment)
        if let region = config.configProfiles[name]?["region"] { return region }
        var tried = ["--region", "AWS_REGION", "AWS_DEFAULT_REGION",
                     "region in profile '\(name)' of \(config.configPath ?? "the config file (HOME is not set)")"]
        if let instanceMetadata, !instanceMetadata.isDisabled {
            if let region = try? instanceMetadata.region() { return region }
            tried.append("EC2 instance metadata")
        }
        throw CredentialsError.noRegion(tried: tried)
    }
}
