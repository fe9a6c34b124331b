package kwire.clients;

import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * group-consume: a KafkaConsumer in a consumer group, with the classic protocol or KIP-848's
 * (group.protocol=consumer). Prints every assignment, revocation, record and commit as a JSON line,
 * commits after each poll, and stops after COUNT records, at the deadline, or on SIGTERM (leaving
 * the group cleanly, which is what makes the other members rebalance at once).
 *
 * <pre>
 * group-consume --bootstrap B --group G --topics T1,T2 [--count N] [--timeout-ms MS]
 *               [--protocol classic|consumer] [--isolation read_committed|read_uncommitted]
 *               [--commit sync|async|none] [--offset-reset earliest|latest] [--assignor NAME]
 *               [--instance-id ID] [--client-id ID] [--max-poll-records N] [--prop K=V]... [--config-file F]
 * </pre>
 *
 * Exit status: 0 when COUNT records arrived (or COUNT is 0 and the deadline passed, or SIGTERM);
 * 3 when the deadline passed first; 1 on an error (printed as an "error" event).
 */
final class GroupConsumer {
  static final Set<String> OPTIONS = Set.of("bootstrap", "group", "topics", "count", "timeout-ms", "protocol",
      "isolation", "commit", "offset-reset", "assignor", "instance-id", "client-id", "max-poll-records");

  static int run(Opts o) {
    String protocol = o.get("protocol", "classic");
    if (!protocol.equals("classic") && !protocol.equals("consumer")) {
      throw new IllegalArgumentException("--protocol classic|consumer, got " + protocol);
    }
    String commit = o.get("commit", "sync");
    long count = o.num("count", 0);
    long timeoutMs = o.num("timeout-ms", 30_000);
    String group = o.need("group");
    var topics = Arrays.asList(o.need("topics").split(","));

    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, o.need("bootstrap"));
    p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, o.get("isolation", "read_committed"));
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, o.get("offset-reset", "earliest"));
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, o.get("client-id", "kwire-java-group-consumer"));
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    if (o.has("max-poll-records")) p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, o.get("max-poll-records", ""));
    if (o.has("instance-id")) p.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, o.get("instance-id", ""));
    if (o.has("assignor")) {
      // classic: the client-side assignor (range, roundrobin, sticky, cooperative-sticky);
      // consumer: the broker-side one (uniform, range; KIP-848)
      String a = o.get("assignor", "");
      if (protocol.equals("classic")) {
        p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, classicAssignor(a));
      } else {
        p.put(ConsumerConfig.GROUP_REMOTE_ASSIGNOR_CONFIG, a);
      }
    }
    if (protocol.equals("consumer")) {
      // not allowed with group.protocol=consumer (the broker decides them, KIP-848)
      p.remove(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG);
    }
    o.apply(p);

    long deadline = System.currentTimeMillis() + timeoutMs;
    long seen = 0;
    String reason = "deadline";
    CountDownLatch done = new CountDownLatch(1);
    Map<TopicPartition, Long> byPartition = new HashMap<>();
    KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p);
    final boolean[] signalled = {false};
    Thread hook = new Thread(() -> {
      signalled[0] = true;
      consumer.wakeup();
      try {
        done.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    Runtime.getRuntime().addShutdownHook(hook);
    Json.event("started").put("group", group).put("protocol", protocol)
        .raw("topics", "[" + String.join(",", topics.stream().map(Json::str).toList()) + "]")
        .put("count", count).put("timeoutMs", timeoutMs).print();
    try {
      consumer.subscribe(topics, new ConsumerRebalanceListener() {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> parts) {
          member(consumer, Json.event("revoked")).raw("partitions", Json.partitions(parts)).print();
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> parts) {
          member(consumer, Json.event("assigned")).raw("partitions", Json.partitions(parts))
              .raw("assignment", Json.partitions(consumer.assignment())).print();
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> parts) {
          member(consumer, Json.event("lost")).raw("partitions", Json.partitions(parts)).print();
        }
      });
      while (System.currentTimeMillis() < deadline && (count == 0 || seen < count)) {
        ConsumerRecords<byte[], byte[]> recs = consumer.poll(Duration.ofMillis(
            Math.max(1, Math.min(200, deadline - System.currentTimeMillis()))));
        Map<TopicPartition, OffsetAndMetadata> next = new LinkedHashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : recs) {
          seen++;
          TopicPartition tp = new TopicPartition(r.topic(), r.partition());
          byPartition.merge(tp, 1L, Long::sum);
          record(r);
          next.put(tp, new OffsetAndMetadata(r.offset() + 1));
        }
        if (!next.isEmpty() && !commit.equals("none")) {
          if (commit.equals("async")) {
            consumer.commitAsync(next, null);
          } else {
            consumer.commitSync(next, Duration.ofMillis(Math.max(1000, deadline - System.currentTimeMillis())));
          }
          Map<TopicPartition, Long> offs = new LinkedHashMap<>();
          next.forEach((tp, om) -> offs.put(tp, om.offset()));
          Json.event("committed").put("mode", commit).raw("offsets", Json.offsets(offs)).print();
        }
      }
      if (count != 0 && seen >= count) reason = "count";
      if (count == 0) reason = "deadline";
    } catch (WakeupException e) {
      reason = "signal";
    } catch (RuntimeException e) {
      Json.event("error").put("type", e.getClass().getName()).put("message", String.valueOf(e.getMessage())).print();
      reason = "error";
    } finally {
      ConsumerGroupMetadata m = safeMeta(consumer);
      Json d = Json.event("done").put("records", seen).put("reason", reason);
      if (m != null) d.put("memberId", m.memberId()).put("generation", m.generationId());
      d.raw("recordsByPartition", Json.perPartition(new LinkedHashMap<>(byPartition), "records"));
      try {
        consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(10)));
      } catch (RuntimeException e) {
        d.put("closeError", String.valueOf(e.getMessage()));
      }
      d.print();
      done.countDown();
    }
    if (signalled[0]) return 0;
    Runtime.getRuntime().removeShutdownHook(hook);
    return switch (reason) {
      case "count", "signal" -> 0;
      case "deadline" -> count == 0 ? 0 : 3;
      default -> 1;
    };
  }

  static String classicAssignor(String name) {
    return switch (name) {
      case "range" -> "org.apache.kafka.clients.consumer.RangeAssignor";
      case "roundrobin" -> "org.apache.kafka.clients.consumer.RoundRobinAssignor";
      case "sticky" -> "org.apache.kafka.clients.consumer.StickyAssignor";
      case "cooperative-sticky" -> "org.apache.kafka.clients.consumer.CooperativeStickyAssignor";
      default -> name;
    };
  }

  static ConsumerGroupMetadata safeMeta(KafkaConsumer<?, ?> c) {
    try {
      return c.groupMetadata();
    } catch (RuntimeException e) {
      return null;
    }
  }

  static Json member(KafkaConsumer<?, ?> c, Json j) {
    ConsumerGroupMetadata m = safeMeta(c);
    if (m != null) j.put("memberId", m.memberId()).put("generation", m.generationId());
    return j;
  }

  static void record(ConsumerRecord<byte[], byte[]> r) {
    StringBuilder h = new StringBuilder("[");
    boolean first = true;
    for (Header x : r.headers()) {
      h.append(first ? "" : ",").append('[').append(Json.str(x.key())).append(',').append(Json.bytes(x.value())).append(']');
      first = false;
    }
    Json.event("record").put("topic", r.topic()).put("partition", r.partition()).put("offset", r.offset())
        .raw("key", Json.bytes(r.key())).raw("value", Json.bytes(r.value())).raw("headers", h.append(']').toString())
        .put("timestamp", r.timestamp()).put("timestampType", r.timestampType().name).print();
  }

  private GroupConsumer() {}
}
