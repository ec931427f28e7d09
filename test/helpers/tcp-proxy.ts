import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a real database server, to make that server go away and come back under a
 * running pipeline as a restart or a failover does from a client's side: every open connection is
 * reset, new ones are refused while it is down, then the address answers again (for a failover, with
 * another upstream behind it).
 */
export interface TcpProxy {
  readonly port: number;
  /** Connections forwarded so far (each reconnect is one more). */
  readonly connections: number;
  /** Resets every connection and refuses new ones for `downMs`, then forwards to `upstream` (or the same). */
  restart(downMs: number, upstream?: { host: string; port: number }): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(upstream: { host: string; port: number }): Promise<TcpProxy> {
  let target = upstream;
  let connections = 0;
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  };
  const onConnection = (client: Socket) => {
    connections += 1;
    const server = connect(target.port, target.host);
    track(client);
    track(server);
    client.pipe(server);
    server.pipe(client);
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
  };
  let server: Server = createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.resetAndDestroy();
    });
  return {
    port,
    get connections() {
      return connections;
    },
    async restart(downMs, next) {
      await stop();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      if (next) target = next;
      server = createServer(onConnection);
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    close: stop,
  };
}
