import HTTPTypes
import Hummingbird
import OCI

extension RegistryError {
    var response: Response {
        let body = jsonBody
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: HTTPResponse.Status(code: httpStatus), headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}

extension RegistryError {
    /// The failed-login limiter's 429, with `Retry-After` so clients know when to try again.
    static func throttled(retryAfter seconds: Int) -> Response {
        var response = RegistryError(.tooManyRequests, message: "too many failed logins; try again in \(RetryAfter.words(seconds))").response
        response.headers[.retryAfter] = String(seconds)
        return response
    }
}

enum RetryAfter {
    /// "45 s", "5 min": for messages a person reads.
    static func words(_ seconds: Int) -> String {
        seconds < 90 ? "\(seconds) s" : "\((seconds + 59) / 60) min"
    }
}
