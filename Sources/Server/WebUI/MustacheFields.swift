import Mustache

/// The pages rendered most often answer the template's lookups by name; without this,
/// swift-mustache reflects over every field (`Mirror`) for each `{{name}}`, the larger part
/// of a 100-line page's time. `PageViewTests` checks each answers as its `Mirror` would.
extension PageFrame: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "title": self.title
        case "base": self.base
        case "signedIn": self.signedIn
        case "account": self.account
        case "csrf": self.csrf
        case "readOnly": self.readOnly
        case "deletesOff": self.deletesOff
        case "isAdmin": self.isAdmin
        case "signInOffered": self.signInOffered
        case "tokensOffered": self.tokensOffered
        case "notice": self.notice
        case "problem": self.problem
        default: nil
        }
    }
}

extension RepositoriesPage: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "frame": self.frame
        case "query": self.query
        case "filtered": self.filtered
        case "repositories": self.repositories
        case "hasRepositories": self.hasRepositories
        case "total": self.total
        case "one": self.one
        case "page": self.page
        case "pages": self.pages
        case "previous": self.previous
        case "next": self.next
        default: nil
        }
    }
}

extension RepositoriesPage.Row: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "name": self.name
        case "tags": self.tags
        case "size": self.size
        case "pushed": self.pushed
        case "pushedISO": self.pushedISO
        case "mirrorOf": self.mirrorOf
        default: nil
        }
    }
}

extension RepositoryPage: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "frame": self.frame
        case "name": self.name
        case "lastComponent": self.lastComponent
        case "host": self.host
        case "firstTag": self.firstTag
        case "hasTags": self.hasTags
        case "tlsFlag": self.tlsFlag
        case "mirrorOf": self.mirrorOf
        case "pulls": self.pulls
        case "about": self.about
        case "query": self.query
        case "filtered": self.filtered
        case "byName": self.byName
        case "showArtifacts": self.showArtifacts
        case "artifactsToggle": self.artifactsToggle
        case "artifactsToggleText": self.artifactsToggleText
        case "deletable": self.deletable
        case "repositoryDeletable": self.repositoryDeletable
        case "tags": self.tags
        case "total": self.total
        case "totalTags": self.totalTags
        case "page": self.page
        case "pages": self.pages
        case "previous": self.previous
        case "next": self.next
        default: nil
        }
    }
}

extension RepositoryPage.Row: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "tag": self.tag
        case "digest": self.digest
        case "shortDigest": self.shortDigest
        case "kind": self.kind
        case "platforms": self.platforms
        case "size": self.size
        case "pushed": self.pushed
        case "pushedISO": self.pushedISO
        case "badges": self.badges
        case "immutable": self.immutable
        default: nil
        }
    }
}

extension RepositoryPage.Badge: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "label": self.label
        case "kind": self.kind
        default: nil
        }
    }
}

extension AdminAuditPage: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "frame": self.frame
        case "filterAccount": self.filterAccount
        case "action": self.action
        case "entries": self.entries
        case "olderLink": self.olderLink
        case "newestLink": self.newestLink
        default: nil
        }
    }
}

extension AdminAuditPage.Row: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "at": self.at
        case "actor": self.actor
        case "action": self.action
        case "target": self.target
        case "address": self.address
        case "result": self.result
        case "detail": self.detail
        default: nil
        }
    }
}
