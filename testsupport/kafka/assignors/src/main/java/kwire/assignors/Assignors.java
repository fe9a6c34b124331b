package kwire.assignors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.Assignment;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.GroupAssignment;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.GroupSubscription;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.Subscription;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.clients.consumer.RoundRobinAssignor;
import org.apache.kafka.clients.consumer.internals.AbstractStickyAssignor;
import org.apache.kafka.clients.consumer.internals.ConsumerProtocol;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Runs Kafka's own client-side assignors on requests given as JSON lines on stdin; one JSON line
 * answers each request on stdout (errors included). See ../README.md for the protocol.
 */
public final class Assignors {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * The cooperative sticky assignor's assignment before its cooperative adjustment: the same
     * AbstractStickyAssignor algorithm with the same reading of owned partitions and generation as
     * CooperativeStickyAssignor.memberData in 4.4 (the subscription's generation, else the int32 in
     * the user data, -1 when that cannot be read).
     */
    static final class TargetSticky extends AbstractStickyAssignor {
        @Override
        public String name() {
            return "kwire-target-sticky";
        }

        @Override
        protected MemberData memberData(Subscription subscription) {
            if (subscription.generationId().isPresent()) {
                return new MemberData(subscription.ownedPartitions(), subscription.generationId());
            }
            ByteBuffer b = subscription.userData();
            Optional<Integer> gen;
            if (b == null) {
                gen = Optional.empty();
            } else if (b.remaining() >= 4) {
                gen = Optional.of(b.duplicate().getInt());
            } else {
                gen = Optional.of(DEFAULT_GENERATION);
            }
            return new MemberData(subscription.ownedPartitions(), gen, subscription.rackId());
        }
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            ObjectNode answer = JSON.createObjectNode();
            try {
                JsonNode req = JSON.readTree(line);
                answer.set("id", req.get("id"));
                String op = req.path("op").asText("assign");
                switch (op) {
                    case "ping":
                        answer.put("ok", org.apache.kafka.common.utils.internals.AppInfoParser.getVersion());
                        break;
                    case "assign":
                        assign(req, answer);
                        break;
                    case "decodeSubscription":
                        decodeSubscription(req, answer);
                        break;
                    case "decodeAssignment":
                        decodeAssignment(req, answer);
                        break;
                    case "encodeSubscription":
                        encodeSubscription(req, answer);
                        break;
                    default:
                        throw new IllegalArgumentException("unknown op " + op);
                }
            } catch (Exception e) {
                answer.put("error", e.getClass().getName() + ": " + e.getMessage());
            }
            out.println(JSON.writeValueAsString(answer));
        }
    }

    private static ConsumerPartitionAssignor assignor(String name) {
        switch (name) {
            case "range":
                return new RangeAssignor();
            case "roundrobin":
                return new RoundRobinAssignor();
            case "cooperative-sticky":
                return new CooperativeStickyAssignor();
            case "target-sticky":
                return new TargetSticky();
            default:
                throw new IllegalArgumentException("unknown assignor " + name);
        }
    }

    /** topics: {"t": [["rackA", "rackB"], [], ...]}, one entry per partition index. */
    private static Cluster cluster(JsonNode topics) {
        Map<String, Node> nodesByRack = new LinkedHashMap<>();
        Node noRack = new Node(0, "127.0.0.1", 9092);
        List<PartitionInfo> partitions = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> it = topics.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> t = it.next();
            int p = 0;
            for (JsonNode racks : t.getValue()) {
                List<Node> replicas = new ArrayList<>();
                for (JsonNode r : racks) {
                    String rack = r.asText();
                    replicas.add(nodesByRack.computeIfAbsent(rack,
                        k -> new Node(nodesByRack.size() + 1, "127.0.0.1", 9092, k)));
                }
                if (replicas.isEmpty()) {
                    replicas.add(noRack);
                }
                Node[] rs = replicas.toArray(new Node[0]);
                partitions.add(new PartitionInfo(t.getKey(), p++, rs[0], rs, rs));
            }
        }
        List<Node> nodes = new ArrayList<>(nodesByRack.values());
        nodes.add(noRack);
        return new Cluster("kwire", nodes, partitions, Collections.emptySet(), Collections.emptySet());
    }

    private static ByteBuffer hex(String s) {
        byte[] b = new byte[s.length() / 2];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return ByteBuffer.wrap(b);
    }

    private static String hex(ByteBuffer buf) {
        ByteBuffer b = buf.duplicate();
        StringBuilder sb = new StringBuilder();
        while (b.hasRemaining()) {
            sb.append(String.format("%02x", b.get() & 0xff));
        }
        return sb.toString();
    }

    private static ArrayNode partitions(List<TopicPartition> tps) {
        ArrayNode a = JSON.createArrayNode();
        for (TopicPartition tp : tps) {
            ArrayNode e = JSON.createArrayNode();
            e.add(tp.topic());
            e.add(tp.partition());
            a.add(e);
        }
        return a;
    }

    private static void assign(JsonNode req, ObjectNode answer) {
        String name = req.get("assignor").asText();
        Cluster cluster = cluster(req.get("topics"));
        Map<String, Subscription> subs = new HashMap<>();
        for (JsonNode m : req.get("members")) {
            Subscription s = ConsumerProtocol.deserializeSubscription(hex(m.get("subscription").asText()));
            JsonNode gi = m.get("groupInstanceId");
            s.setGroupInstanceId(gi == null || gi.isNull() ? Optional.empty() : Optional.of(gi.asText()));
            subs.put(m.get("memberId").asText(), s);
        }
        GroupAssignment ga = assignor(name).assign(cluster, new GroupSubscription(subs));
        ObjectNode asg = answer.putObject("assignments");
        for (Map.Entry<String, Assignment> e : ga.groupAssignment().entrySet()) {
            asg.put(e.getKey(), hex(ConsumerProtocol.serializeAssignment(e.getValue())));
        }
        if (name.equals("cooperative-sticky")) {
            TargetSticky target = new TargetSticky();
            GroupAssignment full = target.assign(cluster, new GroupSubscription(subs));
            ObjectNode t = answer.putObject("target");
            for (Map.Entry<String, Assignment> e : full.groupAssignment().entrySet()) {
                t.set(e.getKey(), partitions(e.getValue().partitions()));
            }
            answer.put("equalSubscriptions", target.partitionsTransferringOwnership() != null);
        }
    }

    private static void decodeSubscription(JsonNode req, ObjectNode answer) {
        Subscription s = ConsumerProtocol.deserializeSubscription(hex(req.get("hex").asText()));
        ArrayNode topics = answer.putArray("topics");
        s.topics().forEach(topics::add);
        if (s.userData() == null) {
            answer.putNull("userData");
        } else {
            answer.put("userData", hex(s.userData()));
        }
        answer.set("ownedPartitions", partitions(s.ownedPartitions()));
        if (s.generationId().isPresent()) {
            answer.put("generationId", s.generationId().get());
        } else {
            answer.putNull("generationId");
        }
        if (s.rackId().isPresent()) {
            answer.put("rackId", s.rackId().get());
        } else {
            answer.putNull("rackId");
        }
    }

    private static void decodeAssignment(JsonNode req, ObjectNode answer) {
        Assignment a = ConsumerProtocol.deserializeAssignment(hex(req.get("hex").asText()));
        answer.set("partitions", partitions(a.partitions()));
        if (a.userData() == null) {
            answer.putNull("userData");
        } else {
            answer.put("userData", hex(a.userData()));
        }
    }

    /** The same fields as decodeSubscription's answer, written at "version" by Kafka. */
    private static void encodeSubscription(JsonNode req, ObjectNode answer) {
        List<String> topics = new ArrayList<>();
        req.get("topics").forEach(t -> topics.add(t.asText()));
        List<TopicPartition> owned = new ArrayList<>();
        for (JsonNode tp : req.get("ownedPartitions")) {
            owned.add(new TopicPartition(tp.get(0).asText(), tp.get(1).asInt()));
        }
        JsonNode ud = req.get("userData");
        JsonNode gen = req.get("generationId");
        JsonNode rack = req.get("rackId");
        Subscription s = new Subscription(topics,
            ud == null || ud.isNull() ? null : hex(ud.asText()),
            owned,
            gen == null || gen.isNull() ? -1 : gen.asInt(),
            rack == null || rack.isNull() ? Optional.empty() : Optional.of(rack.asText()));
        answer.put("hex", hex(ConsumerProtocol.serializeSubscription(s, (short) req.get("version").asInt())));
    }

    private Assignors() {
    }

}
