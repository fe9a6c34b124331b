package kwire.clients;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Future;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * txn-produce: a transactional KafkaProducer (transactional.id, idempotence) that runs TRANSACTIONS
 * transactions of COUNT records each and commits or aborts each one.
 *
 * <pre>
 * txn-produce --bootstrap B --topic T --transactional-id ID [--count N] [--transactions K]
 *             [--abort-every K | --abort-all true] [--partition P] [--timeout-ms MS]
 *             [--prop K=V]... [--config-file F]
 * </pre>
 *
 * Record i of transaction t: key "k&lt;i&gt;", value "t&lt;t&gt;-v&lt;i&gt;", header "txn" = "&lt;t&gt;". One line per
 * transaction: {"event":"committed"|"aborted","transaction":t,"records":[{"partition","offset"}]},
 * then {"event":"done","committed":c,"aborted":a,"records":n}. --abort-every 2 aborts transactions
 * 1, 3, 5, ... (every second one). Exit 1 (with an "error" event) when a send or the commit fails.
 */
final class TxnProducer {
  static final Set<String> OPTIONS = Set.of("bootstrap", "topic", "transactional-id", "count", "transactions",
      "abort-every", "abort-all", "partition", "timeout-ms", "client-id");

  static int run(Opts o) throws Exception {
    String topic = o.need("topic");
    long count = o.num("count", 10);
    long txns = o.num("transactions", 1);
    long abortEvery = o.num("abort-every", 0);
    boolean abortAll = Boolean.parseBoolean(o.get("abort-all", "false"));
    Integer partition = o.has("partition") ? Integer.valueOf(o.get("partition", "0")) : null;
    long timeoutMs = o.num("timeout-ms", 60_000);

    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, o.need("bootstrap"));
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, o.need("transactional-id"));
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, Long.toString(timeoutMs));
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Long.toString(Math.max(timeoutMs, 30_000)));
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Long.toString(Math.min(timeoutMs, 30_000)));
    p.put(ProducerConfig.CLIENT_ID_CONFIG, o.get("client-id", "kwire-java-txn-producer"));
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    o.apply(p);

    long committed = 0;
    long aborted = 0;
    long records = 0;
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      producer.initTransactions();
      Json.event("initialized").put("transactionalId", p.getProperty(ProducerConfig.TRANSACTIONAL_ID_CONFIG)).print();
      for (long t = 0; t < txns; t++) {
        producer.beginTransaction();
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        for (long i = 0; i < count; i++) {
          RecordHeaders h = new RecordHeaders();
          h.add("txn", Long.toString(t).getBytes(StandardCharsets.UTF_8));
          sent.add(producer.send(new ProducerRecord<>(topic, partition, null, "k" + i, "t" + t + "-v" + i, h)));
        }
        producer.flush();
        StringBuilder recs = new StringBuilder("[");
        for (int i = 0; i < sent.size(); i++) {
          RecordMetadata md = sent.get(i).get();
          recs.append(i == 0 ? "" : ",").append("{\"partition\":").append(md.partition())
              .append(",\"offset\":").append(md.offset()).append('}');
        }
        boolean abort = abortAll || (abortEvery > 0 && (t + 1) % abortEvery == 0);
        if (abort) {
          producer.abortTransaction();
          aborted++;
        } else {
          producer.commitTransaction();
          committed++;
        }
        records += count;
        Json.event(abort ? "aborted" : "committed").put("transaction", t).put("topic", topic)
            .raw("records", recs.append(']').toString()).print();
      }
    } catch (Exception e) {
      Json.event("error").put("type", e.getClass().getName()).put("message", String.valueOf(e.getMessage())).print();
      Json.event("done").put("committed", committed).put("aborted", aborted).put("records", records).print();
      return 1;
    }
    Json.event("done").put("committed", committed).put("aborted", aborted).put("records", records).print();
    return 0;
  }

  private TxnProducer() {}
}
