"""kwire's Kafka test support: real Apache Kafka brokers and clusters from Maven Central.

Python 3 standard library only. The command-line entry points are ../broker and ../perf; the modules:

  wire       raw Kafka requests (ApiVersions, Metadata, DescribeQuorum, SASL), independent of kwire
  releases   the release matrix and what differs between releases
  maven      resolving broker and tool class paths from Maven Central
  procs      JVM options, spawning, stopping and log tails
  tls        a throw-away test CA and broker key store (keytool)
  sasl       users, JAAS text, SCRAM credentials, client properties
  props      server.properties for a node (listeners, SASL, TLS, replication)
  single     one broker: start / stop
  cluster    a KRaft cluster: start / stop / node-stop / node-start / status / wait
  tools      Kafka's own command-line tools (FeatureCommand, ProducerPerformance, ...)
"""
