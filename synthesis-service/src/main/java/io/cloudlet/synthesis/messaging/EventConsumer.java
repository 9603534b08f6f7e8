package io.cloudlet.synthesis.messaging;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.cloudlet.contracts.CloudletEvent;
import io.cloudlet.synthesis.server.ServerLifecycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.messaging.Message;
import org.springframework.transaction.support.TransactionTemplate;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.function.Consumer;

/**
 * The {@code cloudletEvents} binding: every agent event, applied to servers and agents in one
 * transaction with its dedup record. A message that cannot be read goes to the dead-letter queue
 * after the binder's retries.
 */
@Configuration(proxyBeanMethods = false)
class EventConsumer {

    private static final Logger log = LoggerFactory.getLogger(EventConsumer.class);

    @Bean
    Consumer<Message<byte[]>> cloudletEvents(ObjectMapper json, ProcessedMessages processed,
                                             ServerLifecycle lifecycle, TransactionTemplate transactions) {
        return message -> {
            CloudletEvent event;
            try {
                event = json.readValue(message.getPayload(), CloudletEvent.class);
            } catch (IOException e) {
                throw new UncheckedIOException("unreadable event " + message.getHeaders().getId(), e);
            }
            transactions.executeWithoutResult(status -> {
                if (processed.firstTime(event.eventId())) {
                    lifecycle.on(event);
                } else {
                    log.debug("duplicate event {} ignored", event.eventId());
                }
            });
        };
    }
}
