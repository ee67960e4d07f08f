import Foundation

/// The S3 driver's credentials, looked for where the AWS SDKs (and so Distribution's S3
/// driver) look: `accesskey`/`secretkey` in the configuration, the `AWS_ACCESS_KEY_ID`
/// environment variables, the shared credentials file's profile, a web identity
/// (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`), a container's credentials endpoint
/// (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or `_FULL_URI`), then the EC2 instance's role.
public enum AWSCredentialChain {
    public static func resolve(accessKey: String?, secretKey: String?, region: String,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> any AWSCredentialProvider {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let accessKey, !accessKey.isEmpty, let secretKey, !secretKey.isEmpty {
            return AWSCredentials(accessKey: accessKey, secretKey: secretKey, sessionToken: value("AWS_SESSION_TOKEN"))
        }
        if let key = value("AWS_ACCESS_KEY_ID") ?? value("AWS_ACCESS_KEY"),
           let secret = value("AWS_SECRET_ACCESS_KEY") ?? value("AWS_SECRET_KEY") {
            return AWSCredentials(accessKey: key, secretKey: secret, sessionToken: value("AWS_SESSION_TOKEN"))
        }
        if let path = SharedCredentialsFile.path(environment), let data = FileManager.default.contents(atPath: path),
           let credentials = try SharedCredentialsFile.credentials(text: String(decoding: data, as: UTF8.self),
                                                                   profile: SharedCredentialsFile.profile(environment)) {
            return credentials
        }
        if let tokenFile = value("AWS_WEB_IDENTITY_TOKEN_FILE"), let role = value("AWS_ROLE_ARN") {
            let endpoint = value("AWS_ENDPOINT_URL_STS") ?? value("AWS_ENDPOINT_URL")
                ?? (region.isEmpty ? "https://sts.amazonaws.com" : "https://sts.\(region).amazonaws.com")
            return RemoteCredentialSources.webIdentity(stsEndpoint: endpoint, roleARN: role,
                                                       sessionName: value("AWS_ROLE_SESSION_NAME") ?? "berth-\(ProcessInfo.processInfo.processIdentifier)",
                                                       tokenFile: tokenFile)
        }
        if let relative = value("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            return container(url: "http://169.254.170.2" + (relative.hasPrefix("/") ? relative : "/" + relative), environment: environment)
        }
        if let url = value("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            return container(url: url, environment: environment)
        }
        guard value("AWS_EC2_METADATA_DISABLED")?.lowercased() != "true" else {
            throw CredentialConfigurationError("storage.s3: no credentials: set accesskey and secretkey, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                                               + "a profile in the shared credentials file, or run with a role (instance metadata is disabled)")
        }
        return RemoteCredentialSources.instanceMetadata(endpoint: value("AWS_EC2_METADATA_SERVICE_ENDPOINT") ?? "http://169.254.169.254")
    }

    static func container(url: String, environment: [String: String]) -> any AWSCredentialProvider {
        let tokenFile = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        let token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return RemoteCredentialSources.container(url: url) {
            // EKS Pod Identity rotates the token file; read it on every fetch.
            if let tokenFile {
                guard let data = FileManager.default.contents(atPath: tokenFile) else {
                    throw RemoteCredentialSources.Failure(description: "cannot read the container authorization token in \(tokenFile)")
                }
                return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            return token
        }
    }
}

/// Credentials configured so that none can be found: a configuration error, reported as such
/// at start.
public struct CredentialConfigurationError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
