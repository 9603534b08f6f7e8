package io.cloudlet.handoff;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cloudlet.contracts.AgentCommand;
import io.cloudlet.contracts.CloudletEvent;
import io.cloudlet.contracts.Destinations;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.springframework.amqp.rabbit.connection.CorrelationData;
import org.springframework.amqp.support.AmqpHeaders;
import org.springframework.cloud.stream.function.StreamBridge;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.messaging.Message;
import org.springframework.messaging.support.MessageBuilder;
import org.springframework.stereotype.Component;

/**
 * The service's messages: commands to source agents and handoff events, each published with a
 * broker confirm (a handoff whose command is not confirmed fails at once, visibly), and the
 * {@code cloudletEvents} binding, which receives the agents' handoff events.
 */
@Component
class Messaging {

    private final StreamBridge bridge;
    private final ObjectMapper json;

    Messaging(StreamBridge bridge, ObjectMapper json) {
        this.bridge = bridge;
        this.json = json;
    }

    void send(String hostId, AgentCommand command) {
        publish("agentCommands-out-0", serialise(command, AgentCommand.class), command.commandId(),
                Destinations.HOST_HEADER, hostId);
    }

    void publish(CloudletEvent event) {
        publish("events-out-0", serialise(event, CloudletEvent.class), event.eventId(), "cloudlet-type",
                event.getClass().getSimpleName());
    }

    private void publish(String binding, byte[] payload, String id, String header, String value) {
        CorrelationData correlation = new CorrelationData(id);
        Message<byte[]> message = MessageBuilder.withPayload(payload)
                .setHeader(header, value)
                .setHeader(Destinations.MESSAGE_ID_HEADER, id)
                .setHeader(AmqpHeaders.PUBLISH_CONFIRM_CORRELATION, correlation)
                .setHeader("contentType", "application/json")
                .build();
        try {
            if (!bridge.send(binding, message) || !correlation.getFuture().get(10, TimeUnit.SECONDS).isAck()) {
                throw new IllegalStateException("the broker did not confirm message " + id);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while publishing " + id, e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("the broker did not confirm message " + id + ": " + e, e);
        }
    }

    private <T> byte[] serialise(T value, Class<T> type) {
        try {
            return json.writerFor(type).writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise " + value, e);
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class Binding {

        @Bean
        Consumer<Message<byte[]>> cloudletEvents(ObjectMapper json, Orchestrator orchestrator) {
            return message -> {
                CloudletEvent event;
                try {
                    event = json.readValue(message.getPayload(), CloudletEvent.class);
                } catch (IOException e) {
                    throw new UncheckedIOException("unreadable event " + message.getHeaders().getId(), e);
                }
                orchestrator.on(event);
            };
        }
    }
}
