import Foundation

/// The AWS shared credentials file (`~/.aws/credentials`, or `AWS_SHARED_CREDENTIALS_FILE`):
/// INI sections named after profiles, each with `aws_access_key_id`,
/// `aws_secret_access_key` and optionally `aws_session_token`.
enum SharedCredentialsFile {
    static func path(_ environment: [String: String]) -> String? {
        if let path = environment["AWS_SHARED_CREDENTIALS_FILE"], !path.isEmpty { return path }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return home + "/.aws/credentials"
    }

    static func profile(_ environment: [String: String]) -> String {
        environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? environment["AWS_DEFAULT_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
    }

    /// The profile's keys; nil when the file or the profile does not exist. A profile that
    /// exists without both keys is an error, not a reason to look elsewhere.
    static func credentials(text: String, profile: String) throws -> AWSCredentials? {
        var section: String?
        var values: [String: String] = [:]
        var found = false
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                section = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                if section == profile { found = true }
                continue
            }
            guard section == profile, let equals = line.firstIndex(of: "=") else { continue }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            values[name] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        guard found else { return nil }
        guard let key = values["aws_access_key_id"], !key.isEmpty, let secret = values["aws_secret_access_key"], !secret.isEmpty else {
            throw CredentialConfigurationError("storage.s3: profile \(profile) of the shared credentials file has no aws_access_key_id and aws_secret_access_key")
        }
        return AWSCredentials(accessKey: key, secretKey: secret, sessionToken: values["aws_session_token"].flatMap { $0.isEmpty ? nil : $0 })
    }
}
