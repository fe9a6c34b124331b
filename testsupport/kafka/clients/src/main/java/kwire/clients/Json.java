package kwire.clients;

import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Iterator;
import java.util.Map;

import org.apache.kafka.common.TopicPartition;

/**
 * One JSON object per line on stdout. Only strings, integers, booleans, null, arrays and objects:
 * no floating point, so a minimal reader (integers only) can parse every line.
 */
final class Json {
  private final StringBuilder out = new StringBuilder("{");
  private boolean first = true;

  static Json event(String event) {
    return new Json().put("event", event);
  }

  private Json key(String k) {
    out.append(first ? "" : ",").append(str(k)).append(':');
    first = false;
    return this;
  }

  Json put(String k, String v) {
    key(k).out.append(v == null ? "null" : str(v));
    return this;
  }

  Json put(String k, long v) {
    key(k).out.append(v);
    return this;
  }

  Json put(String k, boolean v) {
    key(k).out.append(v);
    return this;
  }

  /** Pre-rendered JSON (an array or object built with the helpers below). */
  Json raw(String k, String json) {
    key(k).out.append(json);
    return this;
  }

  void print() {
    System.out.println(out.append('}'));
    System.out.flush();
  }

  static String partitions(Collection<TopicPartition> parts) {
    StringBuilder b = new StringBuilder("[");
    Iterator<TopicPartition> it = parts.stream()
        .sorted((x, y) -> x.topic().equals(y.topic()) ? Integer.compare(x.partition(), y.partition())
            : x.topic().compareTo(y.topic()))
        .iterator();
    while (it.hasNext()) {
      TopicPartition tp = it.next();
      b.append("{\"topic\":").append(str(tp.topic())).append(",\"partition\":").append(tp.partition()).append('}');
      if (it.hasNext()) b.append(',');
    }
    return b.append(']').toString();
  }

  static String offsets(Map<TopicPartition, Long> offsets) {
    return perPartition(offsets, "offset");
  }

  /** [{"topic","partition",&lt;field&gt;:value}, ...] */
  static String perPartition(Map<TopicPartition, Long> offsets, String field) {
    StringBuilder b = new StringBuilder("[");
    boolean f = true;
    for (Map.Entry<TopicPartition, Long> e : offsets.entrySet()) {
      b.append(f ? "" : ",").append("{\"topic\":").append(str(e.getKey().topic()))
          .append(",\"partition\":").append(e.getKey().partition())
          .append(",\"").append(field).append("\":").append(e.getValue()).append('}');
      f = false;
    }
    return b.append(']').toString();
  }

  static String longs(Collection<Long> xs) {
    StringBuilder b = new StringBuilder("[");
    boolean f = true;
    for (long x : xs) {
      b.append(f ? "" : ",").append(x);
      f = false;
    }
    return b.append(']').toString();
  }

  /** UTF-8 text as a JSON string; null as null. */
  static String bytes(byte[] b) {
    return b == null ? "null" : str(new String(b, StandardCharsets.UTF_8));
  }

  /** A JSON string; anything outside printable ASCII as \\uXXXX, so broker text cannot reach a terminal raw. */
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

  private Json() {}
}
