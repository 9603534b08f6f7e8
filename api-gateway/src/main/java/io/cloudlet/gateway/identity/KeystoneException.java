package io.cloudlet.gateway.identity;

/** A refused identity request, answered in Keystone's error shape. */
class KeystoneException extends RuntimeException {

    final int status;

    KeystoneException(int status, String message) {
        super(message);
        this.status = status;
    }

    static KeystoneException unauthorized() {
        return new KeystoneException(401, "The request you have made requires authentication.");
    }
}
