package io.cloudlet.engine.handoff;

import io.cloudlet.engine.InvalidArtifactException;
import io.cloudlet.engine.Json;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Framing of the handoff connection: after the greeting, every message is a frame of one type
 * byte, a 4-byte big-endian payload length and the payload.
 */
final class Wire {

    static final byte[] MAGIC = "CLHANDOF".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 1;
    static final int MAX_FRAME = 64 << 20;
    static final int MAX_TICKET = 256;

    // Sender to receiver.
    static final byte HELLO = 1;
    static final byte BATCH = 2;
    static final byte PASS_END = 3;
    static final byte STATE = 4;
    static final byte COMMIT = 5;
    // Receiver to sender.
    static final byte WELCOME = 15;
    static final byte ACCEPT = 16;
    static final byte RESUMED = 17;
    // Either way: the peer gives up; the payload is a UTF-8 message.
    static final byte ERROR = 32;

    // Item opcodes inside a batch: kind << 1 | image (0 disk, 1 memory).
    static final int ZERO = 0;
    static final int BASE = 1;
    static final int SELF = 2;
    static final int RAW = 3;

    private Wire() {
    }

    record Frame(byte type, byte[] payload) {

        <T> T json(Class<T> type) throws InvalidArtifactException {
            try {
                return Json.mapper().readValue(payload, type);
            } catch (IOException e) {
                throw new InvalidArtifactException("handoff frame " + this.type + " is not valid JSON: "
                        + e.getMessage(), e);
            }
        }

        String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }
    }

    static void write(DataOutputStream out, byte type, byte[] payload) throws IOException {
        out.writeByte(type);
        out.writeInt(payload.length);
        out.write(payload);
        out.flush();
    }

    static void writeJson(DataOutputStream out, byte type, Object value) throws IOException {
        write(out, type, json(value));
    }

    static byte[] json(Object value) throws IOException {
        return Json.mapper().writeValueAsBytes(value);
    }

    static void writeError(DataOutputStream out, String message) {
        try {
            write(out, ERROR, message.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            // The peer is gone already; it learns of the failure from the closed connection.
        }
    }

    static Frame read(DataInputStream in) throws IOException {
        int type;
        try {
            type = in.readUnsignedByte();
        } catch (EOFException e) {
            throw new HandoffException("the peer closed the handoff connection");
        }
        int length = in.readInt();
        if (length < 0 || length > MAX_FRAME) {
            throw new InvalidArtifactException("handoff frame of " + length + " bytes is out of range");
        }
        byte[] payload = new byte[length];
        in.readFully(payload);
        return new Frame((byte) type, payload);
    }

    /** Reads a frame of type {@code expected}; an ERROR frame from the peer becomes a {@link HandoffException}. */
    static Frame expect(DataInputStream in, byte expected) throws IOException {
        Frame frame = read(in);
        if (frame.type() == ERROR) {
            throw new HandoffException("the peer refused: " + frame.text());
        }
        if (frame.type() != expected) {
            throw new InvalidArtifactException("expected handoff frame " + expected + ", got " + frame.type());
        }
        return frame;
    }
}
