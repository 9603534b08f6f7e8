package io.cloudlet.agent.fetch;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Serves the regular files of one directory over HTTP with single byte-range support
 * ({@code Range: bytes=A-B}, {@code bytes=A-}, {@code bytes=-N}), which is what
 * {@link HttpOverlaySource} needs. GET and HEAD only; nothing outside the directory is reachable.
 */
public final class OverlayFileServer implements AutoCloseable {

    private static final Pattern RANGE = Pattern.compile("bytes=(\\d*)-(\\d*)");

    private final Path root;
    private final HttpServer server;
    private final ExecutorService executor = Executors.newFixedThreadPool(4, runnable -> {
        Thread thread = new Thread(runnable, "overlay-server");
        thread.setDaemon(true);
        return thread;
    });

    private OverlayFileServer(Path root, HttpServer server) {
        this.root = root;
        this.server = server;
    }

    /** Starts serving {@code root} on {@code address:port} (port 0: any free port). */
    public static OverlayFileServer start(Path root, String address, int port) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(address, port), 16);
        OverlayFileServer files = new OverlayFileServer(root.toAbsolutePath().normalize(), server);
        server.createContext("/", files::handle);
        server.setExecutor(files.executor);
        server.start();
        return files;
    }

    /** The port the server listens on. */
    public int port() {
        return server.getAddress().getPort();
    }

    /** The URL of {@code fileName} on this server, for a client on this host. */
    public String url(String fileName) {
        return "http://127.0.0.1:" + port() + "/" + fileName;
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String method = exchange.getRequestMethod();
            if (!method.equals("GET") && !method.equals("HEAD")) {
                reply(exchange, 405, "only GET and HEAD are supported\n");
                return;
            }
            Path file = root.resolve(exchange.getRequestURI().getPath().replaceFirst("^/+", "")).normalize();
            if (!file.startsWith(root) || !Files.isRegularFile(file)) {
                reply(exchange, 404, "not found\n");
                return;
            }
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
                long size = channel.size();
                long from = 0;
                long to = size - 1;
                int status = 200;
                String range = exchange.getRequestHeaders().getFirst("Range");
                if (range != null) {
                    Matcher matcher = RANGE.matcher(range.trim());
                    if (!matcher.matches() || (matcher.group(1).isEmpty() && matcher.group(2).isEmpty())) {
                        reply(exchange, 416, "unsupported range\n");
                        return;
                    }
                    if (matcher.group(1).isEmpty()) {
                        from = Math.max(0, size - Long.parseLong(matcher.group(2)));
                    } else {
                        from = Long.parseLong(matcher.group(1));
                        if (!matcher.group(2).isEmpty()) {
                            to = Math.min(to, Long.parseLong(matcher.group(2)));
                        }
                    }
                    if (from >= size || from > to) {
                        exchange.getResponseHeaders().set("Content-Range", "bytes */" + size);
                        reply(exchange, 416, "range not satisfiable\n");
                        return;
                    }
                    status = 206;
                    exchange.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + to + "/" + size);
                }
                long length = to - from + 1;
                exchange.getResponseHeaders().set("Accept-Ranges", "bytes");
                exchange.getResponseHeaders().set("Content-Type", "application/octet-stream");
                if (method.equals("HEAD")) {
                    exchange.getResponseHeaders().set("Content-Length", Long.toString(length));
                    exchange.sendResponseHeaders(status, -1);
                    return;
                }
                exchange.sendResponseHeaders(status, length);
                try (OutputStream body = exchange.getResponseBody()) {
                    long sent = 0;
                    var out = Channels.newChannel(body);
                    while (sent < length) {
                        sent += channel.transferTo(from + sent, Math.min(length - sent, 1 << 20), out);
                    }
                }
            }
        } catch (IOException e) {
            // The client went away; nothing to tell it.
        }
    }

    private static void reply(HttpExchange exchange, int status, String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
