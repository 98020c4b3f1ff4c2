import AWSCore
import ECR
import Foundation

/// The factory the CLI uses: a client for a reference's registry with credentials from ECR (for ECR
/// hosts, when an ECR client is given) and from Docker's config.json.
public enum Registries {
    /// The credential sources for `reference`, in the order they are asked.
    public static func credentialSources(for reference: ImageReference, options: RegistryOptions,
                                         ecr: ECRClient?) -> [any RegistryCredentialSource] {
        var sources: [any RegistryCredentialSource] = []
        if reference.isECR, let ecr { sources.append(ECRCredentialSource(client: ecr)) }
        sources.append(DockerConfigCredentials(path: options.dockerConfigPath, environment: options.environment))
        return sources
    }

    /// A client for `reference`'s registry. For an ECR reference with `ecrRepositorySettings` (a push),
    /// the repository is created with those settings when it does not exist.
    public static func client(for reference: ImageReference, options: RegistryOptions, ecr: ECRClient?,
                              ecrRepositorySettings: ECRRepositorySettings? = nil) throws -> RegistryClient {
        let sources = credentialSources(for: reference, options: options, ecr: ecr)
        if let settings = ecrRepositorySettings, reference.isECR,
           let source = sources.first(where: { $0 is ECRCredentialSource }) as? ECRCredentialSource {
            try source.ensureRepository(reference.repository, settings: settings)
        }
        return try RegistryClient(registry: reference.registry, options: options, credentials: sources)
    }
}

extension Registries {
    /// Like `client(for:options:ecr:ecrRepositorySettings:)`, making the ECR client from `aws` (its
    /// region replaced by the reference's ECR region) when the reference is an ECR one. Non-ECR
    /// references never touch AWS.
    public static func client(for reference: ImageReference, options: RegistryOptions, aws: AWSConfig?,
                              ecrRepositorySettings: ECRRepositorySettings? = nil) throws -> RegistryClient {
        var ecr: ECRClient?
        if reference.isECR, var config = aws {
            if let region = reference.ecrRegion { config.region = region }
            ecr = try ECRClient(config: config)
        }
        return try client(for: reference, options: options, ecr: ecr, ecrRepositorySettings: ecrRepositorySettings)
    }
}
