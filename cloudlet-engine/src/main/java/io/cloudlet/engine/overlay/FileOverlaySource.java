package io.cloudlet.engine.overlay;

import io.cloudlet.engine.InvalidArtifactException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** An overlay in a local file, read with positional reads. */
public final class FileOverlaySource implements OverlaySource {

    private final Path file;
    private final FileChannel channel;
    private final OverlayFormat.Header header;

    private FileOverlaySource(Path file, FileChannel channel, OverlayFormat.Header header) {
        this.file = file;
        this.channel = channel;
        this.header = header;
    }

    public static FileOverlaySource open(Path file) throws IOException {
        FileChannel channel;
        try {
            channel = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new InvalidArtifactException("overlay file " + file + " does not exist", e);
        }
        try {
            // Not closed on purpose: closing the stream would close the channel we keep.
            InputStream in = Channels.newInputStream(channel);
            OverlayFormat.Header header = OverlayFormat.readHeader(new java.io.BufferedInputStream(in, 1 << 16));
            long size = channel.size();
            if (size < header.totalLength()) {
                throw new InvalidArtifactException("overlay " + file.getFileName() + " is truncated: it has " + size
                        + " bytes, its meta describes " + header.totalLength());
            }
            if (size > header.totalLength()) {
                throw new InvalidArtifactException("overlay " + file.getFileName() + " has " + (size - header.totalLength())
                        + " trailing bytes after its last segment");
            }
            return new FileOverlaySource(file, channel, header);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    @Override
    public OverlayFormat.Header header() {
        return header;
    }

    @Override
    public byte[] readSegment(int index) throws IOException {
        OverlayMeta.Segment segment = header.meta().segments().get(index);
        return read(segment.offset(), segment.length(), "segment " + index);
    }

    @Override
    public byte[] readAttachment(int index) throws IOException {
        OverlayMeta.Attachment attachment = header.meta().attachments().get(index);
        return read(attachment.offset(), attachment.length(), "attachment " + attachment.name());
    }

    private byte[] read(long offset, int length, String what) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        long position = header.dataOffset() + offset;
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, position + buffer.position()) < 0) {
                throw new InvalidArtifactException("overlay " + file.getFileName() + " is truncated in " + what);
            }
        }
        return buffer.array();
    }

    @Override
    public String describe() {
        return file.toString();
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
