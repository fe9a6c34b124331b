package kwire.clients;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * Command-line options: positional arguments plus "--name value" flags, where --prop K=V (repeatable)
 * and --config-file F (a .properties file, e.g. one the launcher wrote for a SASL listener) go into
 * every client's configuration, after the command's own settings so they win.
 */
final class Opts {
  final List<String> positional = new ArrayList<>();
  private final Map<String, String> flags = new HashMap<>();
  final Properties extra = new Properties();

  static Opts parse(String[] args, int from, Set<String> known) {
    Opts o = new Opts();
    for (int i = from; i < args.length; i++) {
      String a = args[i];
      if (!a.startsWith("--")) {
        o.positional.add(a);
        continue;
      }
      String name = a.substring(2);
      if (i + 1 >= args.length) throw new IllegalArgumentException(a + " needs a value");
      String v = args[++i];
      switch (name) {
        case "prop" -> {
          int eq = v.indexOf('=');
          if (eq <= 0) throw new IllegalArgumentException("--prop wants KEY=VALUE, got " + v);
          o.extra.setProperty(v.substring(0, eq), v.substring(eq + 1));
        }
        case "config-file" -> {
          Properties p = new Properties();
          try (InputStream in = new FileInputStream(v)) {
            p.load(in);
          } catch (IOException e) {
            throw new IllegalArgumentException("--config-file " + v + ": " + e.getMessage(), e);
          }
          p.forEach((k, val) -> o.extra.putIfAbsent(k, val));
        }
        default -> {
          if (!known.contains(name)) throw new IllegalArgumentException("unknown option " + a);
          o.flags.put(name, v);
        }
      }
    }
    return o;
  }

  String get(String name, String dflt) {
    return flags.getOrDefault(name, dflt);
  }

  String need(String name) {
    String v = flags.get(name);
    if (v == null) throw new IllegalArgumentException("--" + name + " is required");
    return v;
  }

  long num(String name, long dflt) {
    String v = flags.get(name);
    return v == null ? dflt : Long.parseLong(v);
  }

  boolean has(String name) {
    return flags.containsKey(name);
  }

  /** Settings of the command first, then --config-file / --prop on top. */
  Properties apply(Properties base) {
    base.putAll(extra);
    return base;
  }

  private Opts() {}
}
