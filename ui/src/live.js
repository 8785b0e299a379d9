// Live updates over socket.io (the server's /socket.io/, SPEC N3): the group page joins its
// group's room and receives every event of reference §8 after the change is durable.
import { useEffect } from 'preact/hooks';
import { io } from 'socket.io-client';
import { socketPath, socketUrl, token } from './api.js';
import { observable } from './store.js';

export const liveConnected = observable(false);

const GROUP_EVENTS = [
  'task_group:update', 'group:delete', 'group:reset', 'group:retry', 'group:syncPause',
  'task:create', 'task:update', 'task:delete', 'task:acquire:key', 'task:release:key',
  'workgroup:delay',
];

// Calls onEvent(name, payload) for each event of the group while the component is mounted, and
// onJoin() each time the server has acknowledged joining the group's room: on the first connection
// and on every reconnection. Only changes after a join are sure to arrive as events, so a snapshot
// read before it may miss some (the caller loads again).
export function useGroupEvents(groupId, onEvent, onJoin) {
  useEffect(() => {
    const socket = io(socketUrl, {
      path: socketPath,
      transports: ['polling'],
      auth: { token: token() },
    });
    socket.on('connect', () => {
      liveConnected.set(true);
      socket.emit('watchTaskGroup', { taskGroupId: groupId }, () => onJoin());
    });
    socket.on('disconnect', () => liveConnected.set(false));
    socket.on('connect_error', () => liveConnected.set(false));
    for (const name of GROUP_EVENTS) socket.on(name, (payload) => onEvent(name, payload));
    return () => {
      socket.emit('unwatchTaskGroup', { taskGroupId: groupId });
      socket.close();
      liveConnected.set(false);
    };
  }, [groupId]);
}
