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
        if (name.endsWith("Data")) {
            name = name.substring(0, name.length() - 4);
        }
        synchronized (CACHE) {
            JsonNode schema = CACHE.get(name);
            if (schema == null) {
                try (InputStream in = dataClass.getResourceAsStream("/common/message/" + name + ".json")) {
                    if (in == null) {
                        throw new IllegalStateException("kafka-clients carries no common/message/" + name + ".json");
                    }
                    schema = LENIENT.readTree(in);
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
