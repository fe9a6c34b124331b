package kwire.oracle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.message.ApiMessageType;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Message;
import org.apache.kafka.common.protocol.ObjectSerializationCache;
import org.apache.kafka.common.record.TimestampType;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Modifier;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Kafka's own generated message codec, driven by line commands on stdin; one answer line each on stdout.
 *
 * <pre>
 *   ENCODE &lt;apiKey&gt; &lt;version&gt; &lt;request|response&gt; &lt;json&gt;  -> lowercase hex of the body bytes (no header)
 *   DECODE &lt;apiKey&gt; &lt;version&gt; &lt;request|response&gt; &lt;hex&gt;   -> Kafka's JSON of the body
 *   ENCODE_FULL / DECODE_FULL (same arguments)          -> as above, but every field always present (see README)
 *   ENCODE[_FULL]/DECODE[_FULL] &lt;SchemaName&gt; &lt;version&gt; data &lt;payload&gt;  -> the same for a data message or header
 *   VERSIONS                                             -> one JSON array, one object per ApiKeys entry
 *   DATAVERSIONS &lt;SchemaName&gt;...                         -> JSON object: name -> [lowest, highest]
 *   PING                                                 -> OK &lt;kafka-clients version&gt;
 *   LEGACY &lt;magic&gt; &lt;codec&gt; &lt;baseOffset&gt; &lt;logAppendTime|-1&gt; [&lt;ts&gt;:&lt;keyhex|-&gt;:&lt;valuehex|-&gt;]...
 *                                                        -> hex of the message set MemoryRecordsBuilder writes
 * </pre>
 * Any failure answers {@code ERR <message>} on one line; the process keeps going. EOF or QUIT ends it.
 * The JSON is what Kafka's generated *DataJsonConverter classes read and write (serializeRecords=true).
 */
public final class Oracle {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Map<Class<?>, Method[]> CONVERTERS = new HashMap<>();

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16);
        String line;
        while ((line = in.readLine()) != null) {
            line = line.strip();
            if (line.isEmpty()) {
                continue;
            }
            if (line.equals("QUIT")) {
                break;
            }
            String answer;
            try {
                answer = handle(line);
            } catch (Throwable t) {
                answer = "ERR " + describe(t);
            }
            out.write(answer);
            out.write('\n');
            out.flush();
        }
        out.flush();
    }

    static String describe(Throwable t) {
        while (t instanceof InvocationTargetException && t.getCause() != null) {
            t = t.getCause();
        }
        String msg = t.getClass().getSimpleName() + ": " + t.getMessage();
        return msg.replace('\n', ' ').replace('\r', ' ');
    }

    static String handle(String line) throws Exception {
        String[] parts = line.split(" ", 5);
        switch (parts[0]) {
            case "PING":
                return "OK " + kafkaVersion();
            case "VERSIONS":
                return versions();
            case "CHECKFIELDS":
                return Schema.checkFields();
            case "ENCODE":
            case "DECODE":
            case "ENCODE_FULL":
            case "DECODE_FULL": {
                if (parts.length != 5) {
                    return "ERR usage: " + parts[0] + " <apiKey> <version> <request|response> <payload>";
                }
                if (!parts[1].isEmpty() && Character.isLetter(parts[1].charAt(0))) {
                    // a data message or header by schema name: ENCODE_FULL RequestHeader 2 data {...}
                    if (!parts[3].equals("data")) {
                        return "ERR third argument must be data for a message named by schema, got " + parts[3];
                    }
                    Message message = dataMessage(parts[1]);
                    short version = Short.parseShort(parts[2]);
                    if (version < message.lowestSupportedVersion() || version > message.highestSupportedVersion()) {
                        return "ERR " + message.getClass().getSimpleName() + " has no version " + version
                            + " (supports " + message.lowestSupportedVersion() + ".." + message.highestSupportedVersion() + ")";
                    }
                    boolean full = parts[0].endsWith("_FULL");
                    return parts[0].startsWith("ENCODE")
                        ? encode(message, version, parts[4], full)
                        : decode(message, version, parts[4], full);
                }
                short apiKey = Short.parseShort(parts[1]);
                short version = Short.parseShort(parts[2]);
                boolean request;
                if (parts[3].equals("request")) {
                    request = true;
                } else if (parts[3].equals("response")) {
                    request = false;
                } else {
                    return "ERR third argument must be request or response, got " + parts[3];
                }
                ApiMessageType type = ApiMessageType.fromApiKey(apiKey);
                ApiMessage message = request ? type.newRequest() : type.newResponse();
                if (version < message.lowestSupportedVersion() || version > message.highestSupportedVersion()) {
                    return "ERR " + message.getClass().getSimpleName() + " has no version " + version
                        + " (supports " + message.lowestSupportedVersion() + ".." + message.highestSupportedVersion() + ")";
                }
                boolean full = parts[0].endsWith("_FULL");
                return parts[0].startsWith("ENCODE")
                    ? encode(message, version, parts[4], full)
                    : decode(message, version, parts[4], full);
            }
            case "LEGACY":
                return legacy(line.split(" "));
            case "DATAVERSIONS": {
                // DATAVERSIONS <SchemaName>... -> JSON object: name -> [lowest, highest]
                ObjectNode o = JsonNodeFactory.instance.objectNode();
                for (String name : line.substring("DATAVERSIONS".length()).trim().split("\\s+")) {
                    if (name.isEmpty()) {
                        continue;
                    }
                    Message m = dataMessage(name);
                    o.putArray(name).add(m.lowestSupportedVersion()).add(m.highestSupportedVersion());
                }
                return MAPPER.writeValueAsString(o);
            }
            default:
                return "ERR unknown command " + parts[0];
        }
    }

    /**
     * A data message or header class of kafka-clients by schema name: {@code org.apache.kafka.common.message.<name>}
     * or {@code <name>Data} (RequestHeader -> RequestHeaderData), which must implement Message.
     */
    static Message dataMessage(String name) throws Exception {
        if (!name.matches("[A-Z][A-Za-z0-9]*")) {
            throw new IllegalArgumentException("not a schema name: " + name);
        }
        for (String candidate : new String[] {name, name + "Data"}) {
            Class<?> c;
            try {
                c = Class.forName("org.apache.kafka.common.message." + candidate);
            } catch (ClassNotFoundException e) {
                continue;
            }
            if (Message.class.isAssignableFrom(c)) {
                return (Message) c.getConstructor().newInstance();
            }
        }
        throw new IllegalArgumentException("kafka-clients has no message class for schema " + name);
    }

    static String kafkaVersion() throws Exception {
        java.util.Properties p = new java.util.Properties();
        try (java.io.InputStream s = ApiKeys.class.getResourceAsStream("/kafka/kafka-version.properties")) {
            if (s != null) {
                p.load(s);
            }
        }
        return p.getProperty("version", "unknown") + " " + p.getProperty("commitId", "unknown");
    }

    static Method[] converter(Class<?> dataClass) throws Exception {
        synchronized (CONVERTERS) {
            Method[] m = CONVERTERS.get(dataClass);
            if (m == null) {
                Class<?> conv = Class.forName(dataClass.getName() + "JsonConverter");
                Method read = conv.getMethod("read", JsonNode.class, short.class);
                Method write;
                try {
                    write = conv.getMethod("write", dataClass, short.class, boolean.class);
                } catch (NoSuchMethodException e) {
                    write = conv.getMethod("write", dataClass, short.class);
                }
                m = new Method[] {read, write};
                CONVERTERS.put(dataClass, m);
            }
            return m;
        }
    }

    static String encode(Message template, short version, String json, boolean full) throws Exception {
        JsonNode node = MAPPER.readTree(json);
        if (full) {
            Schema.stripAbsent(template.getClass(), node, version);
        }
        Method[] conv = converter(template.getClass());
        Message message = (Message) conv[0].invoke(null, node, version);
        ObjectSerializationCache cache = new ObjectSerializationCache();
        int size = message.size(cache, version);
        ByteBuffer buf = ByteBuffer.allocate(size);
        message.write(new ByteBufferAccessor(buf), cache, version);
        if (buf.position() != size) {
            return "ERR wrote " + buf.position() + " bytes but size() said " + size;
        }
        return hex(buf.array());
    }

    static String decode(Message message, short version, String hexText, boolean full) throws Exception {
        ByteBuffer buf = ByteBuffer.wrap(unhex(hexText));
        message.read(new ByteBufferAccessor(buf), version);
        if (buf.hasRemaining()) {
            return "ERR " + buf.remaining() + " trailing bytes after the message";
        }
        Method[] conv = converter(message.getClass());
        JsonNode node = conv[1].getParameterCount() == 3
            ? (JsonNode) conv[1].invoke(null, message, version, true)
            : (JsonNode) conv[1].invoke(null, message, version);
        if (full) {
            node = fullObject(message, node);
        } else {
            patchRecords(message, node);
        }
        return MAPPER.writeValueAsString(node);
    }

    /**
     * Kafka's converters write a records field as an empty binary node when serializeRecords=true (and as
     * "recordsSizeInBytes" otherwise), so they never show the record bytes. Walk the decoded message next to
     * its JSON and put the real bytes (base64, like every bytes field) in place of each records value.
     */
    static void patchRecords(Object data, JsonNode node) throws Exception {
        if (!(node instanceof ObjectNode) || data == null) {
            return;
        }
        ObjectNode obj = (ObjectNode) node;
        for (Class<?> c = data.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers()) || f.getName().startsWith("_")) {
                    continue;
                }
                JsonNode child = obj.get(f.getName());
                if (child == null || child.isNull()) {
                    continue;
                }
                f.setAccessible(true);
                Object value = f.get(data);
                if (value == null) {
                    continue;
                }
                if (isRecords(value)) {
                    ByteBuffer b = ((ByteBuffer) value.getClass().getMethod("buffer").invoke(value)).duplicate();
                    byte[] bytes = new byte[b.remaining()];
                    b.get(bytes);
                    obj.put(f.getName(), bytes);
                } else if (value instanceof Message) {
                    patchRecords(value, child);
                } else if (value instanceof Collection && child.isArray()) {
                    Iterator<JsonNode> it = child.elements();
                    for (Object element : (Collection<?>) value) {
                        if (!it.hasNext()) {
                            break;
                        }
                        JsonNode elementNode = it.next();
                        if (element instanceof Message) {
                            patchRecords(element, elementNode);
                        }
                    }
                }
            }
        }
    }

    /** Fields of a generated message class, in schema order (the generator declares them that way). */
    static java.util.List<Field> messageFields(Class<?> c) {
        java.util.List<Field> out = new java.util.ArrayList<>();
        boolean element = false; // ImplicitLinkedHashCollection.Element (its package moved in 4.4)
        for (Class<?> i : c.getInterfaces()) {
            element |= i.getName().endsWith("ImplicitLinkedHashCollection$Element");
        }
        for (Field f : c.getDeclaredFields()) {
            // "next"/"prev" are the links of ImplicitLinkedHashCollection elements (mapKey structs), not fields
            if (element && (f.getName().equals("next") || f.getName().equals("prev")) && f.getType() == int.class) {
                continue;
            }
            if (!Modifier.isStatic(f.getModifiers()) && !f.getName().startsWith("_")) {
                f.setAccessible(true);
                out.add(f);
            }
        }
        return out;
    }

    /**
     * The _FULL flavour of DECODE: every field of the message at every level, in schema order, those Kafka's
     * converter wrote (present at this version, tagged fields with a non-default value) as it wrote them,
     * the others with the value the decoded object holds (the schema default).
     */
    static ObjectNode fullObject(Object data, JsonNode kafkaNode) throws Exception {
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        for (Field f : messageFields(data.getClass())) {
            Object value = f.get(data);
            JsonNode k = kafkaNode == null ? null : kafkaNode.get(f.getName());
            out.set(f.getName(), fullValue(value, k));
        }
        return out;
    }

    static JsonNode fullValue(Object value, JsonNode k) throws Exception {
        JsonNodeFactory nf = JsonNodeFactory.instance;
        if (value == null) {
            return nf.nullNode();
        }
        if (isRecords(value)) {
            ByteBuffer b = ((ByteBuffer) value.getClass().getMethod("buffer").invoke(value)).duplicate();
            byte[] bytes = new byte[b.remaining()];
            b.get(bytes);
            return nf.binaryNode(bytes);
        }
        if (value instanceof Message) {
            return fullObject(value, k != null && k.isObject() ? k : null);
        }
        if (value instanceof Collection) {
            ArrayNode arr = nf.arrayNode();
            Iterator<JsonNode> it = k != null && k.isArray() ? k.elements() : java.util.Collections.emptyIterator();
            for (Object element : (Collection<?>) value) {
                arr.add(fullValue(element, it.hasNext() ? it.next() : null));
            }
            return arr;
        }
        if (k != null) {
            return k; // scalars as Kafka's converter wrote them
        }
        if (value instanceof Long) {
            return nf.numberNode((Long) value);
        }
        if (value instanceof Integer) {
            return nf.numberNode((Integer) value);
        }
        if (value instanceof Short) {
            return nf.numberNode((Short) value);
        }
        if (value instanceof Byte) {
            return nf.numberNode((Byte) value);
        }
        if (value instanceof Double) {
            return nf.numberNode((Double) value);
        }
        if (value instanceof Boolean) {
            return nf.booleanNode((Boolean) value);
        }
        if (value instanceof byte[]) {
            return nf.binaryNode((byte[]) value);
        }
        if (value instanceof ByteBuffer) {
            ByteBuffer b = ((ByteBuffer) value).duplicate();
            byte[] bytes = new byte[b.remaining()];
            b.get(bytes);
            return nf.binaryNode(bytes);
        }
        return nf.textNode(value.toString()); // String, Uuid (Kafka's base64url text)
    }

    static boolean isRecords(Object value) {
        for (Class<?> c = value.getClass(); c != null; c = c.getSuperclass()) {
            for (Class<?> i : c.getInterfaces()) {
                if (i.getSimpleName().equals("BaseRecords") || i.getSimpleName().equals("Records")) {
                    return true;
                }
            }
        }
        return false;
    }

    static String versions() throws Exception {
        ArrayNode arr = JsonNodeFactory.instance.arrayNode();
        for (ApiKeys key : ApiKeys.values()) {
            ApiMessageType type = key.messageType;
            ObjectNode o = arr.addObject();
            o.put("apiKey", key.id);
            o.put("name", type.name);
            o.put("lowest", type.lowestSupportedVersion());
            o.put("highest", type.highestSupportedVersion(true));
            o.put("highestStable", type.highestSupportedVersion(false));
            o.put("latestVersionUnstable", type.latestVersionUnstable());
            ArrayNode listeners = o.putArray("listeners");
            type.listeners().forEach(l -> listeners.add(l.name()));
        }
        return MAPPER.writeValueAsString(arr);
    }

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    /** A record class of kafka-clients: 4.2+ moved them to {@code record.internal}. */
    static Class<?> recordClass(String name) throws ClassNotFoundException {
        try {
            return Class.forName("org.apache.kafka.common.record.internal." + name);
        } catch (ClassNotFoundException e) {
            return Class.forName("org.apache.kafka.common.record." + name);
        }
    }

    /**
     * A legacy (magic 0 or 1) message set as Kafka's MemoryRecordsBuilder writes it. Reflection, so
     * one source builds against every kafka-clients release the oracle is built for.
     */
    static String legacy(String[] p) throws Exception {
        if (p.length < 5) {
            return "ERR usage: LEGACY <magic> <codec> <baseOffset> <logAppendTime|-1> [<ts>:<keyhex|->:<valuehex|->]...";
        }
        byte magic = Byte.parseByte(p[1]);
        Class<?> typeClass = recordClass("CompressionType");
        Object type = typeClass.getMethod("forName", String.class).invoke(null, p[2]);
        Compression.Builder<?> cb = (Compression.Builder<?>) Compression.class.getMethod("of", typeClass).invoke(null, type);
        Compression compression = cb.build();
        long base = Long.parseLong(p[3]);
        long logAppendTime = Long.parseLong(p[4]);
        TimestampType tt = magic == 0 ? TimestampType.NO_TIMESTAMP_TYPE
            : logAppendTime >= 0 ? TimestampType.LOG_APPEND_TIME : TimestampType.CREATE_TIME;
        Method builder = recordClass("MemoryRecords").getMethod("builder", ByteBuffer.class, byte.class,
            Compression.class, TimestampType.class, long.class, long.class);
        Object b = builder.invoke(null, ByteBuffer.allocate(1 << 16), magic, compression, tt, base, logAppendTime);
        Method append = b.getClass().getMethod("append", long.class, byte[].class, byte[].class);
        for (int i = 5; i < p.length; i++) {
            String[] r = p[i].split(":", -1);
            byte[] key = r[1].equals("-") ? null : unhex(r[1]);
            byte[] value = r[2].equals("-") ? null : unhex(r[2]);
            append.invoke(b, Long.parseLong(r[0]), key, value);
        }
        Object records = b.getClass().getMethod("build").invoke(b);
        ByteBuffer buf = (ByteBuffer) records.getClass().getMethod("buffer").invoke(records);
        byte[] out = new byte[buf.remaining()];
        buf.get(out);
        return hex(out);
    }

    static String hex(byte[] bytes) {
        char[] out = new char[bytes.length * 2];
        for (int i = 0; i < bytes.length; i++) {
            out[2 * i] = HEX[(bytes[i] >> 4) & 0xf];
            out[2 * i + 1] = HEX[bytes[i] & 0xf];
        }
        return new String(out);
    }

    static byte[] unhex(String s) {
        if (s.equals("-")) {
            return new byte[0];
        }
        if (s.length() % 2 != 0) {
            throw new IllegalArgumentException("odd number of hex digits");
        }
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            int hi = Character.digit(s.charAt(2 * i), 16);
            int lo = Character.digit(s.charAt(2 * i + 1), 16);
            if (hi < 0 || lo < 0) {
                throw new IllegalArgumentException("not a hex digit near offset " + 2 * i);
            }
            out[i] = (byte) ((hi << 4) | lo);
        }
        return out;
    }
}
