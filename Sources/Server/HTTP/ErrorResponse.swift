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
