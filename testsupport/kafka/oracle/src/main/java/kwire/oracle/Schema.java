package kwire.oracle;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.InputStream;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * The message schemas (common/message/*.json) that kafka-clients carries, used by ENCODE_FULL to drop the
 * fields a version does not have before Kafka's converter reads the JSON: the converter fails on a struct
 * field that is absent at the version ("Can't read version N of X"), even when it holds its default.
 */
final class Schema {
    private static final ObjectMapper LENIENT = JsonMapper.builder()
        .enable(JsonReadFeature.ALLOW_JAVA_COMMENTS)
        .enable(JsonReadFeature.ALLOW_TRAILING_COMMA)
        .build();
    private static final Map<String, JsonNode> CACHE = new HashMap<>();

    private Schema() {
    }

    static JsonNode load(Class<?> dataClass) throws Exception {
        String name = dataClass.getSimpleName();
        synchronized (CACHE) {
            JsonNode schema = CACHE.get(name);
            if (schema == null) {
                // XxxRequestData -> XxxRequest.json; DefaultPrincipalData, ConsumerProtocolSubscription: as named
                InputStream in = dataClass.getResourceAsStream("/common/message/" + name + ".json");
                if (in == null && name.endsWith("Data")) {
                    in = dataClass.getResourceAsStream("/common/message/" + name.substring(0, name.length() - 4) + ".json");
                }
                if (in == null) {
                    throw new IllegalStateException("kafka-clients carries no common/message/ schema for " + name);
                }
                try (InputStream closing = in) {
                    schema = LENIENT.readTree(closing);
                }
                CACHE.put(name, schema);
            }
            return schema;
        }
    }

    static void stripAbsent(Class<?> dataClass, JsonNode json, short version) throws Exception {
        JsonNode schema = load(dataClass);
        Map<String, JsonNode> common = new HashMap<>();
        JsonNode cs = schema.get("commonStructs");
        if (cs != null) {
            for (JsonNode s : cs) {
                common.put(s.get("name").asText(), s.get("fields"));
            }
        }
        strip(schema.get("fields"), json, version, common);
    }

    private static void strip(JsonNode fields, JsonNode json, short version, Map<String, JsonNode> common) {
        if (!(json instanceof ObjectNode) || fields == null) {
            return;
        }
        ObjectNode obj = (ObjectNode) json;
        for (JsonNode spec : fields) {
            String name = lowerFirst(spec.get("name").asText());
            if (!inRange(spec.get("versions").asText(), version)) {
                obj.remove(name);
                continue;
            }
            JsonNode value = obj.get(name);
            if (value == null) {
                continue;
            }
            String type = spec.get("type").asText();
            if (type.startsWith("[]")) {
                type = type.substring(2);
            }
            JsonNode nested = spec.get("fields");
            if (nested == null && !type.isEmpty() && Character.isUpperCase(type.charAt(0))) {
                nested = common.get(type);
            }
            if (nested == null) {
                continue;
            }
            if (value.isArray()) {
                for (Iterator<JsonNode> it = value.elements(); it.hasNext(); ) {
                    strip(nested, it.next(), version, common);
                }
            } else {
                strip(nested, value, version, common);
            }
        }
    }

    /**
     * For every request and response class: do the Java fields DECODE_FULL walks (Oracle.messageFields)
     * match the schema's fields, name for name and in order, at every nesting level? Answers "OK <n classes>"
     * or "ERR <first mismatches>".
     */
    static String checkFields() throws Exception {
        StringBuilder bad = new StringBuilder();
        int[] checked = {0};
        for (org.apache.kafka.common.message.ApiMessageType t : org.apache.kafka.common.message.ApiMessageType.values()) {
            Object[] messages;
            try {
                messages = new Object[] {t.newRequest(), t.newResponse()};
            } catch (RuntimeException e) {
                continue; // ApiMessageType keeps entries whose classes are gone (e.g. 4 LeaderAndIsr)
            }
            for (Object m : messages) {
                JsonNode schema = load(m.getClass());
                Map<String, JsonNode> common = new HashMap<>();
                JsonNode cs = schema.get("commonStructs");
                if (cs != null) {
                    for (JsonNode s : cs) {
                        common.put(s.get("name").asText(), s.get("fields"));
                    }
                }
                checkClass(m.getClass(), schema.get("fields"), common, bad, checked);
            }
        }
        return bad.length() == 0 ? "OK " + checked[0] : "ERR" + bad;
    }

    private static void checkClass(Class<?> c, JsonNode fields, Map<String, JsonNode> common,
                                   StringBuilder bad, int[] checked) {
        checked[0]++;
        java.util.List<String> want = new java.util.ArrayList<>();
        for (JsonNode spec : fields) {
            want.add(lowerFirst(spec.get("name").asText()));
        }
        java.util.List<java.lang.reflect.Field> javaFields = Oracle.messageFields(c);
        java.util.List<String> have = new java.util.ArrayList<>();
        for (java.lang.reflect.Field f : javaFields) {
            have.add(f.getName());
        }
        if (!want.equals(have)) {
            bad.append(" ").append(c.getName()).append(": schema ").append(want).append(" java ").append(have);
            return;
        }
        int i = 0;
        for (JsonNode spec : fields) {
            java.lang.reflect.Field f = javaFields.get(i++);
            String type = spec.get("type").asText();
            if (type.startsWith("[]")) {
                type = type.substring(2);
            }
            JsonNode nested = spec.get("fields");
            if (nested == null && Character.isUpperCase(type.charAt(0))) {
                nested = common.get(type);
            }
            if (nested == null) {
                continue;
            }
            Class<?> nc = f.getType();
            if (java.util.Collection.class.isAssignableFrom(nc)) {
                java.lang.reflect.Type g = f.getGenericType();
                if (g instanceof java.lang.reflect.ParameterizedType) {
                    nc = (Class<?>) ((java.lang.reflect.ParameterizedType) g).getActualTypeArguments()[0];
                } else {
                    // generated XCollection extends ImplicitLinkedHashMultiCollection<X>
                    nc = (Class<?>) ((java.lang.reflect.ParameterizedType) nc.getGenericSuperclass()).getActualTypeArguments()[0];
                }
            }
            checkClass(nc, nested, common, bad, checked);
        }
    }

    static String lowerFirst(String s) {
        return s.isEmpty() ? s : Character.toLowerCase(s.charAt(0)) + s.substring(1);
    }

    static boolean inRange(String range, short v) {
        range = range.trim();
        if (range.equals("none")) {
            return false;
        }
        if (range.endsWith("+")) {
            return v >= Short.parseShort(range.substring(0, range.length() - 1));
        }
        int dash = range.indexOf('-');
        if (dash > 0) {
            return v >= Short.parseShort(range.substring(0, dash)) && v <= Short.parseShort(range.substring(dash + 1));
        }
        return v == Short.parseShort(range);
    }
}
