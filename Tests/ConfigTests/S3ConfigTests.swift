import Config
import Testing

@Suite struct S3ConfigTests {
    @Test func readsDistributionsS3Section() throws {
        let c = try RegistryConfiguration(yaml: """
        version: 0.1
        storage:
          s3:
            accesskey: AKIAEXAMPLE
            secretkey: s3cr3t
            region: eu-west-1
            regionendpoint: http://127.0.0.1:9000
            forcepathstyle: true
            bucket: images
            encrypt: true
            keyid: alias/registry
            secure: false
            skipverify: true
            v4auth: true
            chunksize: 33554432
            multipartcopychunksize: 33554432
            multipartcopymaxconcurrency: 50
            multipartcopythresholdsize: 33554432
            rootdirectory: /registry-v2
            storageclass: reduced_redundancy
            objectacl: bucket-owner-full-control
            loglevel: off
            useragent: berth-test
            mystery: 1
          redirect:
            disable: true
        """)
        guard case .s3(let s3) = c.storage else { Issue.record("storage is not s3"); return }
        #expect(s3.bucket == "images" && s3.region == "eu-west-1" && s3.regionEndpoint == "http://127.0.0.1:9000")
        #expect(s3.forcePathStyle && s3.encrypt && s3.keyID == "alias/registry" && !s3.secure && s3.skipVerify)
        #expect(s3.chunkSize == 32 << 20 && s3.multipartCopyMaxConcurrency == 50 && s3.rootDirectory == "/registry-v2")
        #expect(s3.storageClass == "REDUCED_REDUNDANCY" && s3.objectACL == "bucket-owner-full-control" && s3.logLevel == "off")
        #expect(c.redirectDisabled)
        #expect(c.warnings == ["unknown or unsupported configuration key ignored: storage.s3.mystery"])
        let effective = c.effectiveYAML()
        #expect(!effective.contains("s3cr3t") && !effective.contains("AKIAEXAMPLE"))
    }

    @Test func s3aws_IsTheSameDriverWithDistributionsDefaults() throws {
        let c = try RegistryConfiguration(yaml: "version: 0.1\nstorage:\n  s3aws:\n    bucket: b\n    region: us-east-1\n")
        guard case .s3(let s3) = c.storage else { Issue.record("storage is not s3"); return }
        #expect(s3.secure && s3.v4Auth && !s3.forcePathStyle && s3.chunkSize == 10 << 20 && s3.storageClass == "STANDARD")
        #expect(s3.objectACL == "private" && s3.multipartCopyThresholdSize == 32 << 20 && s3.accessKey == nil)
        #expect(!c.redirectDisabled)
    }

    @Test(arguments: [
        ("bucket: b\n    region: r\n    chunksize: 1048576", "chunksize"),
        ("region: r", "bucket"),
        ("bucket: b", "region"),
        ("bucket: b\n    region: r\n    v4auth: false", "v4auth"),
        ("bucket: b\n    region: r\n    storageclass: COLD", "storageclass"),
        ("bucket: b\n    region: r\n    objectacl: everyone", "objectacl"),
        ("bucket: b\n    region: r\n    multipartcopymaxconcurrency: 0", "multipartcopymaxconcurrency"),
        ("bucket: b\n    region: r\n    accelerate: true", "accelerate"),
    ])
    func refusesWhatDistributionRefuses(_ body: String, _ key: String) {
        #expect { try RegistryConfiguration(yaml: "version: 0.1\nstorage:\n  s3:\n    \(body)\n") } throws: { error in
            "\(error)".contains(key)
        }
    }
}
