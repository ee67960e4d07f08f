import Foundation
import OCI
import Storage

/// What the templates render. Plain stored values (Mustache reads them through `Mirror`,
/// which sees no computed properties); every string is HTML-escaped by `{{…}}` (the
/// templates never use `{{{…}}}`). An optional that is nil hides its section; so does
/// an empty list.
struct PageFrame {
    var title: String
    var base: String
    var signedIn: Bool
    var account: String
    var csrf: String
    var readOnly: Bool
    var deletesOff: Bool
    var isAdmin = false
    /// An open registry has nobody to sign in as.
    var signInOffered = true
    /// Signed in where there is an accounts database: the visitor has access tokens to manage.
    var tokensOffered = false
    var notice: String?
    var problem: String?
}

struct MessagePage {
    var frame: PageFrame
    var heading: String
    var message: String
}
