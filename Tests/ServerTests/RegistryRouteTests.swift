@testable import Server
import Testing

@Suite struct RegistryRouteTests {
    @Test(arguments: [
        ("/v2", RegistryRoute.base), ("/v2/", .base), ("/v2/_catalog", .catalog), ("/v2/_catalog/", .catalog),
        ("/v2/team/app/manifests/latest", .manifest(name: "team/app", reference: "latest")),
        ("/v2/a/manifests/manifests/x", .manifest(name: "a/manifests", reference: "x")),
        ("/v2/a/blobs/sha256:abc", .blob(name: "a", digest: "sha256:abc")),
        ("/v2/a/b/blobs/uploads/", .uploadStart(name: "a/b")), ("/v2/a/b/blobs/uploads/some-id", .upload(name: "a/b", id: "some-id")),
        ("/v2/a/tags/list", .tags(name: "a")), ("/v2/tags/list/list/tags/list", .tags(name: "tags/list/list")),
        ("/v2/a/referrers/sha256:abc", .referrers(name: "a", digest: "sha256:abc")),
        // Components are percent-decoded, as Distribution's router reads the decoded path.
        ("/v2/caf%C3%A9/manifests/t%61g", .manifest(name: "café", reference: "tag")),
        ("/v2/a%2Fb/manifests/x", .manifest(name: "a/b", reference: "x")), ("/v2/a/manifests/100%", .manifest(name: "a", reference: "100%")),
        ("/v2/a//manifests/x", .manifest(name: "a/", reference: "x")),
    ])
    func pathsNameTheirEndpoint(_ path: String, _ route: RegistryRoute) {
        #expect(RegistryRoute(path: path) == route)
    }

    @Test func otherPathsNameNone() {
        for path in ["/", "/v1/_catalog", "/v2x", "/v2/a", "/v2/manifests/x", "/v2/a/unknown/x", "/v2//", "/v2/blobs/uploads/", "/v2/tags/list"] {
            #expect(RegistryRoute(path: path) == nil, "\(path)")
        }
    }
}
