// The server side of src/protocol/messages.ts: registers handlers and sends notifications through
// the typed descriptors, so each handler's params and result are checked against the protocol.
// Params still arrive from another process, so handlers validate them as before.
import { Connection, Disposable, NotificationHandler, NotificationType, RequestHandler, RequestParam, RequestType } from 'vscode-languageserver/node';
import type { TypedNotification, TypedRequest } from '../protocol/messages';

export function onRequest<P, R>(connection: Connection, type: TypedRequest<P, R>, handler: RequestHandler<P, R, void>): Disposable {
  return connection.onRequest(new RequestType<P, R, void>(type.method), handler);
}

export function onNotification<P>(connection: Connection, type: TypedNotification<P>, handler: NotificationHandler<P>): Disposable {
  return connection.onNotification(new NotificationType<P>(type.method), handler);
}

/** Sends a notification; a client that went away is not an error worth more than dropping it. */
export function notify<P>(connection: Connection, type: TypedNotification<P>, params: RequestParam<P>): void {
  void connection.sendNotification(new NotificationType<P>(type.method), params).catch(() => undefined);
}
