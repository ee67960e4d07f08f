/// The error codes of the OCI Distribution Spec and Distribution's `errcode` registry,
/// with Distribution's HTTP status and message for each.
public enum ErrorCode: String, Sendable, Codable, CaseIterable {
    case unknown = "UNKNOWN"
    case unsupported = "UNSUPPORTED"
    case unauthorized = "UNAUTHORIZED"
    case denied = "DENIED"
    case unavailable = "UNAVAILABLE"
    case tooManyRequests = "TOOMANYREQUESTS"
    case digestInvalid = "DIGEST_INVALID"
    case sizeInvalid = "SIZE_INVALID"
    case rangeInvalid = "RANGE_INVALID"
    case nameInvalid = "NAME_INVALID"
    case tagInvalid = "TAG_INVALID"
    case nameUnknown = "NAME_UNKNOWN"
    case manifestUnknown = "MANIFEST_UNKNOWN"
    case manifestInvalid = "MANIFEST_INVALID"
    case manifestUnverified = "MANIFEST_UNVERIFIED"
    case manifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN"
    case blobUnknown = "BLOB_UNKNOWN"
    case blobUploadUnknown = "BLOB_UPLOAD_UNKNOWN"
    case blobUploadInvalid = "BLOB_UPLOAD_INVALID"
    case paginationNumberInvalid = "PAGINATION_NUMBER_INVALID"

    public var httpStatus: Int {
        switch self {
        case .unknown: 500
        case .unsupported: 405
        case .unauthorized: 401
        case .denied: 403
        case .unavailable: 503
        case .tooManyRequests: 429
        case .digestInvalid, .sizeInvalid, .nameInvalid, .tagInvalid, .manifestInvalid,
             .manifestUnverified, .manifestBlobUnknown, .paginationNumberInvalid: 400
        case .rangeInvalid: 416
        case .nameUnknown, .manifestUnknown, .blobUnknown, .blobUploadUnknown, .blobUploadInvalid: 404
        }
    }

    public var defaultMessage: String {
        switch self {
        case .unknown: "unknown error"
        case .unsupported: "The operation is unsupported."
        case .unauthorized: "authentication required"
        case .denied: "requested access to the resource is denied"
        case .unavailable: "service unavailable"
        case .tooManyRequests: "too many requests"
        case .digestInvalid: "provided digest did not match uploaded content"
        case .sizeInvalid: "provided length did not match content length"
        case .rangeInvalid: "invalid content range"
        case .nameInvalid: "invalid repository name"
        case .tagInvalid: "manifest tag did not match URI"
        case .nameUnknown: "repository name not known to registry"
        case .manifestUnknown: "manifest unknown"
        case .manifestInvalid: "manifest invalid"
        case .manifestUnverified: "manifest failed signature verification"
        case .manifestBlobUnknown: "blob unknown to registry"
        case .blobUnknown: "blob unknown to registry"
        case .blobUploadUnknown: "blob upload unknown to registry"
        case .blobUploadInvalid: "blob upload invalid"
        case .paginationNumberInvalid: "invalid number of results requested"
        }
    }
}
