"""The release matrix and the facts about releases the launcher acts on."""

# The release matrix kwire tests against (newest 4.x on Maven Central first).
RELEASES = ["4.4.0", "4.0.2", "3.9.2", "3.8.1", "2.8.2", "2.3.1"]

# Artifacts missing from Maven Central for a release, pinned to the closest published version of the
# same artifact (see broker-pom.xml and tools-pom.xml).
TOOLS_API_OVERRIDE = {"4.4.0": "4.3.1"}

# ZooKeeper for releases whose own ZooKeeper client does not work on JDK 14+ (see broker-pom.xml).
ZOOKEEPER_OVERRIDE_BELOW = (2, 5)
ZOOKEEPER_OVERRIDE = "3.5.9"

# The newest release on Maven Central: the default for the tool class path (FeatureCommand, perf).
NEWEST = RELEASES[0]


def vtuple(release):
    return tuple(int(x) for x in release.split(".")[:3] if x.isdigit())


def scala_for(release):
    # kafka_2.13 exists from 2.4.0 on; older releases only have 2.11/2.12.
    return "2.13" if vtuple(release) >= (2, 4) else "2.12"


def mode_for(release):
    return "kraft" if vtuple(release) >= (3, 3) else "zookeeper"


def kraft_scram_at_format(release):
    # `kafka-storage format --add-scram` arrived with SCRAM for KRaft (KIP-900, 3.5).
    return vtuple(release) >= (3, 5)


def has_feature_flags(release):
    # transaction.version and group.version are finalized features from 4.0 on (KIP-890, KIP-848);
    # 3.9's storage tool accepts --feature only for kraft.version.
    return vtuple(release) >= (4, 0)


def dynamic_quorum(release):
    # controller.quorum.bootstrap.servers and `format --initial-controllers` (KIP-853) are 3.9+.
    return vtuple(release) >= (3, 9)


def check_cluster_release(release):
    if mode_for(release) != "kraft":
        raise SystemExit("broker: clusters need KRaft (3.3+), got %s" % release)
