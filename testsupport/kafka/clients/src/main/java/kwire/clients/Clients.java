package kwire.clients;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Future;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Kafka's own Java clients (kafka-clients 4.4.0) for kwire's interop tests. Every command prints JSON
 * lines on stdout (integers and strings only); logging goes to stderr (slf4j-simple).
 *
 * <pre>
 * produce     BOOTSTRAP TOPIC CODEC COUNT          one line: {"topic","codec","offsets":[...]}
 * produce-all BOOTSTRAP PREFIX COUNT               produce to PREFIX-CODEC for every codec, one line each
 * consume     BOOTSTRAP TOPIC COUNT [TIMEOUT_MS]   one line per record (partition 0, or every partition
 *             [--isolation read_committed|read_uncommitted] [--all-partitions true]
 *                                                  with --all-partitions; from the beginning; default
 *                                                  read_committed); exit 1 if fewer than COUNT arrive
 * consume-all BOOTSTRAP T1,T2,... COUNT [TIMEOUT_MS]  the same for COUNT records of each topic
 * group-consume ...                                a group member, classic or KIP-848 (GroupConsumer)
 * txn-produce ...                                  transactions, committed or aborted (TxnProducer)
 * </pre>
 *
 * Every command also takes --prop KEY=VALUE (repeatable) and --config-file FILE for extra client
 * settings, e.g. the SASL client .properties the launcher writes for each SASL listener.
 *
 * Produced records: key "k&lt;i&gt;", value "v&lt;i&gt;-&lt;codec&gt;", one header ("h", "&lt;i&gt;"); one
 * producer per codec with compression.type=CODEC and linger.ms=50, so the records share batches.
 */
public final class Clients {
  static final List<String> CODECS = List.of("none", "gzip", "snappy", "lz4", "zstd");
  static final Set<String> CONSUME_OPTIONS = Set.of("isolation", "all-partitions");

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      usage();
    }
    int rc;
    try {
      rc = dispatch(args);
    } catch (IllegalArgumentException e) {
      System.err.println("clients: " + e.getMessage());
      usage();
      return;
    }
    System.exit(rc);
  }

  static int dispatch(String[] args) throws Exception {
    switch (args[0]) {
      case "produce" -> {
        Opts o = Opts.parse(args, 1, Set.of());
        if (o.positional.size() != 4) usage();
        List<String> a = o.positional;
        produce(a.get(0), a.get(1), a.get(2), Integer.parseInt(a.get(3)), o);
        return 0;
      }
      case "produce-all" -> {
        Opts o = Opts.parse(args, 1, Set.of());
        if (o.positional.size() != 3) usage();
        List<String> a = o.positional;
        for (String codec : CODECS) {
          produce(a.get(0), a.get(1) + "-" + codec, codec, Integer.parseInt(a.get(2)), o);
        }
        return 0;
      }
      case "consume", "consume-all" -> {
        Opts o = Opts.parse(args, 1, CONSUME_OPTIONS);
        List<String> a = o.positional;
        if (a.size() != 3 && a.size() != 4) usage();
        long timeout = a.size() == 4 ? Long.parseLong(a.get(3)) : 30_000;
        return consume(a.get(0), Arrays.asList(a.get(1).split(",")), Integer.parseInt(a.get(2)), timeout, o);
      }
      case "group-consume" -> {
        return GroupConsumer.run(Opts.parse(args, 1, GroupConsumer.OPTIONS));
      }
      case "txn-produce" -> {
        return TxnProducer.run(Opts.parse(args, 1, TxnProducer.OPTIONS));
      }
      default -> usage();
    }
    return 2;
  }

  static void usage() {
    System.err.println(
        "usage: produce BOOTSTRAP TOPIC none|gzip|snappy|lz4|zstd COUNT | produce-all BOOTSTRAP PREFIX COUNT\n"
            + "     | consume BOOTSTRAP TOPIC COUNT [TIMEOUT_MS] [--isolation L] [--all-partitions true]\n"
            + "     | consume-all BOOTSTRAP T1,T2,... COUNT [TIMEOUT_MS]\n"
            + "     | group-consume --bootstrap B --group G --topics T1,T2 [--count N] [--timeout-ms MS]"
            + " [--protocol classic|consumer] [--isolation L] [--commit sync|async|none] [--assignor A]"
            + " [--instance-id ID] [--offset-reset earliest|latest]\n"
            + "     | txn-produce --bootstrap B --topic T --transactional-id ID [--count N] [--transactions K]"
            + " [--abort-every K] [--abort-all true] [--partition P]\n"
            + "  every command: [--prop KEY=VALUE]... [--config-file FILE]");
    System.exit(2);
  }

  static void produce(String bootstrap, String topic, String codec, int count, Opts o) throws Exception {
    if (!CODECS.contains(codec)) usage();
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
    p.put(ProducerConfig.LINGER_MS_CONFIG, "50");
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "kwire-java-producer");
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    o.apply(p);
    List<Long> offsets = new ArrayList<>();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        RecordHeaders h = new RecordHeaders();
        h.add("h", Integer.toString(i).getBytes(StandardCharsets.UTF_8));
        sent.add(producer.send(new ProducerRecord<>(topic, 0, null, "k" + i, "v" + i + "-" + codec, h)));
      }
      producer.flush();
      for (Future<RecordMetadata> f : sent) {
        offsets.add(f.get().offset());
      }
    }
    StringBuilder out = new StringBuilder("{\"topic\":").append(str(topic));
    out.append(",\"codec\":").append(str(codec)).append(",\"offsets\":[");
    for (int i = 0; i < offsets.size(); i++) {
      out.append(i == 0 ? "" : ",").append(offsets.get(i));
    }
    System.out.println(out.append("]}"));
    System.out.flush();
  }

  static int consume(String bootstrap, List<String> topics, int count, long timeoutMs, Opts o) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, o.get("isolation", "read_committed"));
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "kwire-java-consumer");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    o.apply(p);
    boolean all = Boolean.parseBoolean(o.get("all-partitions", "false"));
    Map<String, Integer> got = new HashMap<>();
    long deadline = System.currentTimeMillis() + timeoutMs;
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
      List<TopicPartition> parts = new ArrayList<>();
      for (String t : topics) {
        got.put(t, 0);
        if (all) {
          for (PartitionInfo pi : consumer.partitionsFor(t, Duration.ofMillis(Math.max(1000, timeoutMs)))) {
            parts.add(new TopicPartition(t, pi.partition()));
          }
        } else {
          parts.add(new TopicPartition(t, 0));
        }
      }
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      while (got.values().stream().anyMatch(n -> n < count) && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          got.merge(r.topic(), 1, Integer::sum);
          StringBuilder out = new StringBuilder("{\"topic\":").append(str(r.topic()));
          out.append(",\"partition\":").append(r.partition());
          out.append(",\"offset\":").append(r.offset());
          out.append(",\"key\":").append(bytes(r.key()));
          out.append(",\"value\":").append(bytes(r.value()));
          out.append(",\"headers\":[");
          boolean first = true;
          for (Header h : r.headers()) {
            out.append(first ? "" : ",").append('[').append(str(h.key())).append(',').append(bytes(h.value())).append(']');
            first = false;
          }
          out.append("],\"timestamp\":").append(r.timestamp());
          out.append(",\"timestampType\":").append(str(r.timestampType().name));
          System.out.println(out.append('}'));
        }
      }
    }
    System.out.flush();
    int rc = 0;
    for (String t : topics) {
      if (got.get(t) < count) {
        System.err.println(t + ": " + got.get(t) + " of " + count + " records within " + timeoutMs + " ms");
        rc = 1;
      }
    }
    return rc;
  }

  static String bytes(byte[] b) {
    return Json.bytes(b);
  }

  static String str(String s) {
    return Json.str(s);
  }
}
