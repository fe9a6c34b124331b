package kwire.clients;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Kafka's own Java producer and consumer (kafka-clients 4.4.0) for kwire's record interop test
 * (client/tests/kafka_java_records.rs). Every command prints JSON lines on stdout; logging goes to
 * stderr (slf4j-simple).
 *
 * <pre>
 * produce     BOOTSTRAP TOPIC CODEC COUNT          one line: {"topic","codec","offsets":[...]}
 * produce-all BOOTSTRAP PREFIX COUNT               produce to PREFIX-CODEC for every codec, one line each
 * consume     BOOTSTRAP TOPIC COUNT [TIMEOUT_MS]   one line per record (partition 0, from the beginning,
 *                                                  read_committed); exit 1 if fewer than COUNT arrive
 * consume-all BOOTSTRAP T1,T2,... COUNT [TIMEOUT_MS]  the same for COUNT records of each topic
 * </pre>
 *
 * Produced records: key "k&lt;i&gt;", value "v&lt;i&gt;-&lt;codec&gt;", one header ("h", "&lt;i&gt;"); one
 * producer per codec with compression.type=CODEC and linger.ms=50, so the records share batches.
 */
public final class Clients {
  static final List<String> CODECS = List.of("none", "gzip", "snappy", "lz4", "zstd");

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      usage();
    }
    switch (args[0]) {
      case "produce" -> {
        if (args.length != 5) usage();
        produce(args[1], args[2], args[3], Integer.parseInt(args[4]));
      }
      case "produce-all" -> {
        if (args.length != 4) usage();
        for (String codec : CODECS) {
          produce(args[1], args[2] + "-" + codec, codec, Integer.parseInt(args[3]));
        }
      }
      case "consume", "consume-all" -> {
        if (args.length != 4 && args.length != 5) usage();
        long timeout = args.length == 5 ? Long.parseLong(args[4]) : 30_000;
        System.exit(consume(args[1], Arrays.asList(args[2].split(",")), Integer.parseInt(args[3]), timeout));
      }
      default -> usage();
    }
  }

  static void usage() {
    System.err.println(
        "usage: produce BOOTSTRAP TOPIC none|gzip|snappy|lz4|zstd COUNT | produce-all BOOTSTRAP PREFIX COUNT"
            + " | consume BOOTSTRAP TOPIC COUNT [TIMEOUT_MS] | consume-all BOOTSTRAP T1,T2,... COUNT [TIMEOUT_MS]");
    System.exit(2);
  }

  static void produce(String bootstrap, String topic, String codec, int count) throws Exception {
    if (!CODECS.contains(codec)) usage();
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
    p.put(ProducerConfig.LINGER_MS_CONFIG, "50");
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "kwire-java-producer");
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
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

  static int consume(String bootstrap, List<String> topics, int count, long timeoutMs) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "kwire-java-consumer");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    Map<String, Integer> got = new HashMap<>();
    List<TopicPartition> parts = new ArrayList<>();
    for (String t : topics) {
      parts.add(new TopicPartition(t, 0));
      got.put(t, 0);
    }
    long deadline = System.currentTimeMillis() + timeoutMs;
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      while (got.values().stream().anyMatch(n -> n < count) && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          got.merge(r.topic(), 1, Integer::sum);
          StringBuilder out = new StringBuilder("{\"topic\":").append(str(r.topic()));
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

  /** UTF-8 text as a JSON string; null as null. */
  static String bytes(byte[] b) {
    return b == null ? "null" : str(new String(b, StandardCharsets.UTF_8));
  }

  static String str(String s) {
    StringBuilder out = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        default -> {
          if (c < 0x20 || c > 0x7e) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.append('"').toString();
  }
}
