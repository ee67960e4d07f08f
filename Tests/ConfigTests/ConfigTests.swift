import OCI
import Config
import Testing

@Suite struct ConfigTests {
    static let distributionConfig = """
    version: 0.1
    log:
      level: debug
      formatter: json
      accesslog:
        disabled: true
      fields:
        service: registry
    storage:
      filesystem:
        rootdirectory: /var/lib/registry
      delete:
        enabled: true
      cache:
        blobdescriptor: inmemory
      maintenance:
        uploadpurging:
          enabled: true
          age: 168h
          interval: 24h
          dryrun: false
        readonly:
          enabled: false
    http:
      addr: :5000
      prefix: /registry
      secret: asecretforlocaldevelopment
      headers:
        X-Content-Type-Options: [nosniff]
    catalog:
      maxentries: 500
    notifications:
      endpoints: []
    health:
      storagedriver:
        enabled: true
    """

    @Test func readsDistributionConfig() throws {
        let c = try RegistryConfiguration(yaml: Self.distributionConfig)
        #expect(c.logLevel == "debug")
        #expect(c.logFormatter == "json")
        #expect(c.accessLogDisabled)
        #expect(c.storage == .filesystem(rootDirectory: "/var/lib/registry"))
        #expect(c.deleteEnabled)
        #expect(c.uploadPurging.age == 168 * 3600)
        #expect(c.httpPrefix == "/registry/")
        #expect(c.httpSecret == "asecretforlocaldevelopment")
        #expect(c.httpHeaders.first?.0 == "X-Content-Type-Options")
        #expect(c.catalogMaxEntries == 500)
        #expect(try c.listenAddress() == ("0.0.0.0", 5000))
    }

    @Test func reportsEveryUnknownKey() throws {
        let c = try RegistryConfiguration(yaml: Self.distributionConfig)
        let unknown = c.warnings.joined(separator: "\n")
        #expect(unknown.contains("storage.cache.blobdescriptor"))
        #expect(!unknown.contains("notifications"))
        #expect(unknown.contains("health.storagedriver.enabled"))
        #expect(!unknown.contains("storage.filesystem"))
        #expect(!unknown.contains("http.headers"))
    }

    @Test func readsNotificationEndpoints() throws {
        let c = try RegistryConfiguration(yaml: """
        version: 0.1
        storage:
          inmemory: {}
        notifications:
          events:
            includereferences: true
          endpoints:
            - name: alistener
              disabled: false
              url: https://my.listener.com/event
              headers:
                Authorization: [Bearer secret-token]
              timeout: 500ms
              threshold: 5
              backoff: 1s
              ignoredmediatypes:
                - application/octet-stream
              ignore:
                mediatypes:
                  - application/vnd.docker.container.image.rootfs.diff+x-gtar
                actions:
                  - pull
              sendtimeout: 3s
            - name: defaults
              url: http://127.0.0.1:9000/hook
        """)
        #expect(c.notificationIncludeReferences)
        #expect(c.notificationEndpoints.count == 2)
        let first = c.notificationEndpoints[0]
        #expect(first.name == "alistener" && first.url == "https://my.listener.com/event")
        #expect(first.headers == ["Authorization": ["Bearer secret-token"]])
        #expect(first.timeout == 0.5 && first.threshold == 5 && first.backoff == 1)
        #expect(first.ignoredMediaTypes == ["application/octet-stream", "application/vnd.docker.container.image.rootfs.diff+x-gtar"])
        #expect(first.ignoredActions == ["pull"])
        let defaults = c.notificationEndpoints[1]
        #expect(defaults.timeout == 1 && defaults.threshold == 10 && defaults.backoff == 1)
        #expect(c.warnings == ["unknown or unsupported configuration key ignored: notifications.endpoints[0].sendtimeout"])
        #expect(!c.effectiveYAML().contains("Bearer"))

        #expect(throws: ConfigError.self) {
            try RegistryConfiguration(yaml: "version: 0.1\nstorage: {inmemory: {}}\nnotifications: {endpoints: [{name: a, url: ftp://x}]}")
        }
        #expect(throws: ConfigError.self) {
            try RegistryConfiguration(yaml: "version: 0.1\nstorage: {inmemory: {}}\nnotifications: {endpoints: [{name: a, url: http://x, ignore: {actions: [push, fetch]}}]}")
        }
    }

    @Test func environmentOverridesApplyAsDistributionDoes() throws {
        let c = try RegistryConfiguration(yaml: Self.distributionConfig, environment: [
            "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/srv/data",
            "REGISTRY_HTTP_ADDR": "127.0.0.1:6000",
            "REGISTRY_STORAGE_DELETE_ENABLED": "false",
            "REGISTRY_VERSION": "9.9",
            "REGISTRY_LOG_LEVEL": "warn",
            "UNRELATED": "x",
        ])
        #expect(c.storage == .filesystem(rootDirectory: "/srv/data"))
        #expect(try c.listenAddress() == ("127.0.0.1", 6000))
        #expect(!c.deleteEnabled)
        #expect(c.version == "0.1")
        #expect(c.logLevel == "warn")
    }

    @Test func embeddedDefaultNeedsNoFile() throws {
        let c = try RegistryConfiguration.embeddedDefault(environment: ["REGISTRY_HTTP_ADDR": "127.0.0.1:7000"])
        #expect(c.storage == .filesystem(rootDirectory: "./data"))
        #expect(c.deleteEnabled)
        #expect(try c.listenAddress() == ("127.0.0.1", 7000))
        #expect(c.tokenAuth?.builtInAccounts == true)
        let open = try RegistryConfiguration.embeddedDefault(environment: ["REGISTRY_AUTH_NONE": "true"])
        #expect(open.tokenAuth == nil)
    }

    @Test func tokenAuthSection() throws {
        let external = try RegistryConfiguration(yaml: """
            version: 0.1
            storage: {inmemory: {}}
            auth:
              token:
                realm: https://auth.example.com/auth
                service: Docker registry
                issuer: Auth Service
                rootcertbundle: /certs/bundle.pem
            """)
        #expect(external.tokenAuth?.realm == "https://auth.example.com/auth")
        #expect(external.tokenAuth?.serverYAML == nil)
        let builtIn = try RegistryConfiguration(yaml: """
            version: 0.1
            storage: {inmemory: {}}
            auth:
              token:
                service: Docker registry
                server:
                  token: {issuer: Berth, expiration: 900}
                  users: {"": {}}
                  acl: [{match: {account: ""}, actions: [pull]}]
            """)
        #expect(builtIn.tokenAuth?.serverYAML?.contains("expiration") == true)
        // Access control Berth cannot apply must stop the start, never leave the registry open.
        #expect(throws: (any Error).self) { try RegistryConfiguration(yaml: "version: 0.1\nstorage: {inmemory: {}}\nauth:\n  silly: {realm: r, service: s}\n") }
        #expect(throws: (any Error).self) { try RegistryConfiguration(yaml: "version: 0.1\nstorage: {inmemory: {}}\nauth:\n  token: {service: s}\n") }
    }

    @Test(arguments: [
        "storage:\n  filesystem: {}\n",  // no version
        "version: 0.1\n",  // no storage
        "version: 0.1\nstorage:\n  filesystem: {}\n  inmemory: {}\n",
        "version: 0.1\nstorage:\n  inmemory:\nlog:\n  level: loud\n",
        "version: 0.1\nstorage:\n  inmemory:\nstorage2: [\n",
        "version: 0.1\nstorage:\n  inmemory:\n  delete:\n    enabled: maybe\n",
        "version: 0.1\nstorage:\n  inmemory:\n  maintenance:\n    uploadpurging:\n      age: soon\n",
        "version: 0.1\nstorage:\n  inmemory:\nhttp:\n  tls:\n    certificate: /x.pem\n",
        "version: 0.1\nstorage:\n  swift: {}\n",
        "- a list\n",
    ])
    func rejectsInvalidConfigs(_ yaml: String) {
        #expect(throws: (any Error).self) { try RegistryConfiguration(yaml: yaml) }
    }

    @Test func effectiveConfigMasksSecrets() throws {
        let yaml = try RegistryConfiguration(yaml: Self.distributionConfig).effectiveYAML()
        #expect(!yaml.contains("asecretforlocaldevelopment"))
        #expect(yaml.contains("rootdirectory: /var/lib/registry"))
    }

    @Test func goDurations() {
        #expect(GoDuration.seconds("1h30m") == 5400)
        #expect(GoDuration.seconds("500ms") == 0.5)
        #expect(GoDuration.seconds("10") == 10e-9)
        #expect(GoDuration.seconds("abc") == nil)
    }
}

@Suite struct ForeignEnvironmentTests {
    @Test func podmansAuthFileIsNotConfigurationAndErrorsNameTheirVariable() throws {
        let config = try RegistryConfiguration.embeddedDefault(environment: ["REGISTRY_AUTH_FILE": "/run/user/1000/containers/auth.json"])
        #expect(config.tokenAuth?.builtInAccounts == true)
        #expect(config.warnings.contains { $0.contains("REGISTRY_AUTH_FILE") })
        let withFile = try RegistryConfiguration(yaml: "version: 0.1\nstorage: {inmemory: {}}\n", environment: ["REGISTRY_AUTH_FILE": "/x"])
        #expect(withFile.tokenAuth == nil)
        do {
            _ = try RegistryConfiguration.embeddedDefault(environment: ["REGISTRY_STORAGE_DELETE_ENABLED": "perhaps"])
            Issue.record("a bad override was accepted")
        } catch let error as ConfigError {
            #expect(error.message.contains("REGISTRY_STORAGE_DELETE_ENABLED"), "\(error.message)")
        }
    }
}

@Suite struct ConfigMistakeTests {
    static let base = "version: 0.1\nstorage: {inmemory: {}}\n"

    @Test func unknownKeysNameTheNearestKnownKey() throws {
        let config = try RegistryConfiguration(yaml: """
            version: 0.1
            storage:
              filesystem:
                rootdir: /srv/registry
            htp:
              addr: :5001
            http:
              adr: :5000
            catalog:
              maxentries: 10
              colour: blue
            """)
        #expect(config.ignoredKeys == [
            "storage.filesystem.rootdir (did you mean storage.filesystem.rootdirectory?)",
            "htp.addr (did you mean http.addr?)",
            "http.adr (did you mean http.addr?)",
            "catalog.colour",
        ])
        #expect(config.warnings.count == 4)
        #expect(try RegistryConfiguration(yaml: Self.base).ignoredKeys.isEmpty)
    }

    @Test func aMistypedDriverOrMethodIsNamedWithItsNearestName() {
        #expect(throws: ConfigError.self) { try RegistryConfiguration(yaml: "version: 0.1\nstorage: {filesytem: {}}\n") }
        do {
            _ = try RegistryConfiguration(yaml: "version: 0.1\nstorage: {filesytem: {}}\n")
        } catch let error as ConfigError {
            #expect(error.message.contains("did you mean filesystem?"), "\(error.message)")
        } catch {}
        do {
            _ = try RegistryConfiguration(yaml: Self.base + "auth: {htpassword: {path: /x}}\n")
        } catch let error as ConfigError {
            #expect(error.message.contains("did you mean htpasswd?"), "\(error.message)")
        } catch {}
    }

    @Test(arguments: ["http: {trustedproxies: 10.0.0.0/8}", "validation: {manifests: {urls: {allow: '^https://'}}}",
                      "auth: {htpasswd: {path: /x, readers: alice}}"])
    func aSingleValueWhereAListBelongsIsAnError(_ section: String) {
        do {
            _ = try RegistryConfiguration(yaml: Self.base + section + "\n")
            Issue.record("accepted \(section)")
        } catch let error as ConfigError {
            #expect(error.message.contains("expected a list"), "\(error.message)")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func theEffectiveConfigurationShowsTheAuthThatRuns() throws {
        let htpasswd = try RegistryConfiguration(yaml: Self.base + "auth: {htpasswd: {realm: team, path: /etc/berth/htpasswd, writers: [ci]}}\n")
            .effectiveYAML(failedLoginDefaults: ["perclient": "10"])
        #expect(htpasswd.contains("htpasswd:") && htpasswd.contains("path: /etc/berth/htpasswd") && htpasswd.contains("- ci"))
        #expect(htpasswd.contains("perclient: 10"))
        #expect(!htpasswd.contains("none"))

        let open = try RegistryConfiguration(yaml: Self.base).effectiveYAML()
        #expect(open.contains("none: 'OPEN: anyone who can reach :5000 may pull, push and delete'") || open.contains("OPEN: anyone"), "\(open)")

        let database = try RegistryConfiguration(yaml: Self.base + "auth: {token: {accounts: 'postgres://berth:hunter2@db:5432/berth'}}\n").effectiveYAML()
        #expect(database.contains("accounts: postgres://berth:********@db:5432/berth"), "\(database)")
        #expect(!database.contains("hunter2"))
        #expect(database.contains("server: built in"))
    }
}
